"""The harness's flush (after every transactional test) leaves the database as `migrate` left it."""

import pytest
from django.core.management import call_command

from fangkong.command.models import ChecklistTemplate
from fangkong.control.models import Policy
from fangkong.vaccination.models import Product


def shipped() -> tuple[int, int, int]:
    return (
        Product.objects.count(),
        Policy.objects.filter(preset=True, version=1).count(),
        ChecklistTemplate.objects.count(),
    )


@pytest.mark.django_db(transaction=True)
def test_flush_puts_back_the_rows_the_migrations_ship():
    before = shipped()
    assert before[0] == 6 and before[1] > 0 and before[2] == 1
    call_command("flush", interactive=False, verbosity=0)
    assert shipped() == before
