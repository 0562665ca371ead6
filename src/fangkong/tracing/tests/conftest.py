"""Fixtures of the tracing tests: one SparkSession shared by the whole test session."""

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    """Local Spark, started once; skipped where PySpark or a Java runtime is missing."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime: Spark needs `java` on PATH or JAVA_HOME")
    from fangkong.tracing.engine import spark_engine

    os.environ.setdefault("FANGKONG_SPARK_DRIVER_MEMORY", "1g")
    session = spark_engine.session()
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request):
    """Each rule test runs on both engines against the same expected rows."""
    if request.param == "spark":
        request.getfixturevalue("spark")
    return request.param


@pytest.fixture
def english(client):
    """Tests that assert the English source text of messages ask for this."""
    from django.conf import settings
    from django.utils import translation

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
