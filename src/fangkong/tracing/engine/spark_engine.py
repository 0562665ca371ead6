"""Running the co-location rules on Apache Spark (local mode by default) for inputs beyond one machine."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pyarrow as pa

from . import io
from .rules import DATE, INPUTS, INT, TIMESTAMP, Query

if TYPE_CHECKING:  # pyspark is an optional extra and slow to import; loaded only when used
    from pyspark.sql import DataFrame, SparkSession

TIME_ZONE = "Asia/Shanghai"


def _driver_memory() -> str:
    """A quarter of the machine, between 1 and 8 GiB: room for the broadcast sides and Arrow results."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    return f"{max(1, min(8, total // 4 // 2**30))}g"


def session() -> SparkSession:
    """The process's SparkSession; an existing one (a cluster job, the test suite's) is reused."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    cores = os.cpu_count() or 2
    spark = (
        SparkSession.builder.master(os.environ.get("FANGKONG_SPARK_MASTER", "local[*]"))
        .appName("fangkong-colocate")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config(
            "spark.driver.memory", os.environ.get("FANGKONG_SPARK_DRIVER_MEMORY", _driver_memory())
        )
        # The joins are broadcast joins against a small index side; a few partitions per core keep
        # the aggregation shuffle cheap on one machine.
        .config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
        .config("spark.sql.session.timeZone", TIME_ZONE)
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run(
    query: Query, source: io.Source, index: pa.Table, *, spark: SparkSession | None = None
) -> pa.Table:
    """Run one rule; returns the raw result columns of rules.RESULT_COLUMNS."""
    from pyspark.sql.types import IntegralType

    # A child session keeps this run's temporary views apart from concurrent runs.
    spark = (spark or session()).newSession()
    spark.conf.set("spark.sql.session.timeZone", TIME_ZONE)
    frame = _load(spark, query.source, source)
    integer_ids = isinstance(frame.schema["person_id"].dataType, IntegralType)
    frame.createOrReplaceTempView(query.source)
    windows = io.index_windows(index, integer_ids=integer_ids)
    spark.createDataFrame(windows).createOrReplaceTempView("index_windows")
    offsets = io.offsets(query.offsets, windows)
    if offsets is not None:
        spark.createDataFrame(offsets).createOrReplaceTempView("offsets")
    for name, sql in query.stages:
        # Materialised once, so the big join reads a small table of known size (and broadcasts it).
        spark.sql(sql).localCheckpoint(eager=True).createOrReplaceTempView(name)
    return spark.sql(query.sql).toArrow()


def _load(spark: SparkSession, name: str, source: io.Source) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegralType, StringType

    if source.format == "arrow":
        frame = spark.createDataFrame(source.table)
    elif source.format == "parquet":
        frame = spark.read.parquet(*source.paths)
    else:
        # No schema inference: every field arrives as text so IDs keep their leading zeros.
        frame = spark.read.csv(list(source.paths), header=True, inferSchema=False)
    columns = []
    for column, kind in INPUTS[name].items():
        value = F.col(f"`{column}`")
        if kind == TIMESTAMP:
            # timestampdiff on TIMESTAMP_NTZ counts wall-clock microseconds, so the session time
            # zone never shifts a naive value; zone-aware inputs become Shanghai wall-clock first.
            ntz = value.cast("timestamp_ntz")
            us = F.timestamp_diff(
                "MICROSECOND", F.lit("1970-01-01 00:00:00").cast("timestamp_ntz"), ntz
            )
            columns.append(us.cast("bigint").alias(f"{column}_us"))
        elif kind == DATE:
            day = F.datediff(value.cast("date"), F.lit("1970-01-01").cast("date"))
            columns.append(day.cast("bigint").alias(f"{column}_day"))
        elif kind == INT:
            columns.append(value.cast("bigint").alias(column))
        elif column == "person_id" and not isinstance(
            frame.schema[column].dataType, IntegralType | StringType
        ):
            columns.append(value.cast("string").alias(column))
        else:
            columns.append(value.alias(column))
    return frame.select(*columns)
