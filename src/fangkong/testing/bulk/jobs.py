"""The import job around a file, and the helpers every file path shares."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common.imports import Rejected, job_finish
from fangkong.common.models import ImportJob

from ..models import Round
from .base import _drop, _pg, _run


def _finish(job: ImportJob, *, columns: list[str], rejected: Rejected, extra: dict, **counts):
    job = job_finish(job, header=columns, columns=columns, errors=rejected, **counts)
    audit_record(
        actor=job.actor,
        action=Action.IMPORT,
        obj=job,
        jurisdiction_path=job.jurisdiction_path,
        object_repr=f"{job.kind} {job.filename}",
        changes={
            "total": job.total_rows,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
            **extra,
        },
    )
    return job


def _tune() -> None:
    if _pg():
        # Ten million swabs: sorts and hashes in memory, index builds from one sort, and a
        # commit that need not wait for its WAL flush (a lost import is re-run; it is idempotent).
        # Only this transaction of this session gets them.
        _run("SET LOCAL work_mem = '1GB'")
        _run("SET LOCAL maintenance_work_mem = '1GB'")
        _run("SET LOCAL synchronous_commit = off")


def _scope_sql(round_: Round, column: str = "p.jpath") -> tuple[str, list[str]]:
    paths = list(round_.scope_nodes.values_list("path", flat=True))
    if not paths:
        return "1 = 0", []
    return "(" + " OR ".join(f"{column} LIKE %s" for _ in paths) + ")", [p + "%" for p in paths]


def _home_node(round_: Round):
    node = round_.scope_nodes.select_related("jurisdiction").order_by("path").first()
    return node.jurisdiction if node else None


def _root_node():
    from fangkong.geo.models import Jurisdiction

    return Jurisdiction.objects.order_by("depth", "path").first()


def _np(column) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


def _take(table: pa.Table, name: str, at: np.ndarray, fill=0) -> np.ndarray:
    """table[name][at] as numpy, `fill` where at is -1 (no row)."""
    if not table.num_rows:
        return np.full(len(at), fill, dtype=np.int64)
    values = _np(table.column(name).combine_chunks())
    return np.where(at >= 0, values[np.maximum(at, 0)], fill)


def _in_batches(sql: str, ids: list, size: int = 5000) -> None:
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        _run(sql.replace("(%s)", "(" + ", ".join(["%s"] * len(batch)) + ")"), batch)


def _temp(name: str, columns: str) -> None:
    _drop(name)
    _run(f"CREATE TEMP TABLE {name} ({columns})")
