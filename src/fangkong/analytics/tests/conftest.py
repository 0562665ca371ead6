"""The dashboard keeps a node's figures for one refresh period; each test starts without them."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def no_cached_figures():
    cache.clear()
    yield
    cache.clear()
