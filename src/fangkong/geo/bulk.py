"""Bulk import and export of the jurisdiction tree as CSV (code, parent_code, level, name, ...)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from django.db import transaction
from django.utils import translation

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_fields, audit_record, diff
from fangkong.common.imports import (
    CHUNK_SIZE,
    RowError,
    chunked,
    job_finish,
    reason,
    run_import,
    write_table,
)
from fangkong.common.models import ImportJob
from fangkong.common.scope import operator_or_actor_path

from .models import LEVEL_ORDER, Jurisdiction, Level

COLUMNS = ["code", "parent_code", "level", "name", "name_en", "population"]
REQUIRED = ["code", "parent_code", "level", "name"]
ALIASES = {
    "编码": "code",
    "代码": "code",
    "区划代码": "code",
    "上级编码": "parent_code",
    "上级代码": "parent_code",
    "层级": "level",
    "级别": "level",
    "名称": "name",
    "英文名称": "name_en",
    "人口": "population",
    "人口数": "population",
}
_CODE = re.compile(r"^[0-9A-Za-z_.-]{1,24}$")
UPDATABLE = ["name", "name_en", "population"]
_PATH_MAX = Jurisdiction._meta.get_field("path").max_length


def _level_aliases() -> dict[str, str]:
    """Level values, English labels and the Chinese labels from the translation files."""
    aliases = {}
    for level in Level:
        aliases[level.value] = level.value
        with translation.override("en"):
            aliases[str(level.label).lower()] = level.value
        with translation.override("zh-hans"):
            label = str(level.label)
        aliases[label] = level.value
        for part in label.split("/"):
            aliases[part] = level.value
    return aliases


@dataclass(eq=False)
class _Row:
    line: int
    original: list[str]
    code: str
    parent_code: str
    level: str
    name: str
    name_en: str | None
    population: int | None
    population_given: bool
    path: str = ""
    depth: int = 0


def _validate(line: int, row: dict, original: list[str], levels: dict[str, str]):
    errors = []

    def error(column, reason):
        errors.append(RowError(line, column, row.get(column, "") or "", reason))

    code = row["code"]
    if not code:
        error("code", reason("code is required"))
    elif not _CODE.match(code):
        error("code", reason("code must be 1 to 24 letters, digits, '-', '_' or '.'"))
    parent_code = row["parent_code"]
    if parent_code and parent_code == code:
        error("parent_code", reason("a node cannot be its own parent"))
    level = levels.get(row["level"].lower()) or levels.get(row["level"])
    if level is None:
        error(
            "level",
            reason("unknown level; use one of %(levels)s") % {"levels": ", ".join(LEVEL_ORDER)},
        )
    name = row["name"]
    if not name:
        error("name", reason("name is required"))
    elif len(name) > 100:
        error("name", reason("name is longer than 100 characters"))
    name_en = row.get("name_en") or None
    if name_en and len(name_en) > 100:
        error("name_en", reason("English name is longer than 100 characters"))
    population, given = None, bool(row.get("population"))
    if given:
        text = row["population"].replace(",", "")
        if not text.isdigit():
            error("population", reason("population must be a whole number of at least 0"))
        else:
            population = int(text)
    if row.get(None):
        errors.append(
            RowError(line, "", "", reason("the row has more values than the header has columns"))
        )
    if errors:
        return None, errors
    return _Row(line, original, code, parent_code, level, name, name_en, population, given), []


def geo_import(
    *, actor, source, filename: str = "", mode: str = ImportJob.Mode.KEEP_GOOD
) -> ImportJob:
    """Import jurisdictions from CSV/XLSX with columns code, parent_code, level, name [, name_en,
    population]; an empty parent_code makes a root.

    Rows may list children before parents. New codes are created (path and depth computed);
    existing codes get name/name_en/population updated when different (empty cells never erase);
    a different parent or level for an existing code is rejected, as moves are not supported.
    Rejected: unknown parent, cycles, bad or non-descending levels, duplicate codes, and (for a
    non-None actor) nodes outside the actor's subtree. `actor` None is the operator (whole tree).

    Returns the ImportJob (kind "geo"): status DONE with counts and every rejected line, or FAILED
    with a message (nothing written) when the file cannot be read or required columns are missing.
    """
    return run_import(
        kind="geo",
        actor=actor,
        source=source,
        filename=filename,
        aliases=ALIASES,
        required=REQUIRED,
        body=lambda job, table: _geo_import(job, table, actor, operator_or_actor_path(actor)),
        mode=mode,
    )


def _geo_import(job: ImportJob, table, actor, prefix: str | None) -> ImportJob:
    errors = table.errors
    levels = _level_aliases()
    rows: dict[str, _Row] = {}
    rejected_lines: dict[str, int] = {}  # code -> first line of a rejected row with that code
    for line, raw in table.rows:
        original = table.original(raw)
        row, row_errors = _validate(line, raw, original, levels)
        if row is not None and row.code in rows:
            row_errors = [
                RowError(
                    line,
                    "code",
                    row.code,
                    reason("duplicate of line %(line)s") % {"line": rows[row.code].line},
                )
            ]
            row = None
        if row is None:
            errors.reject(line, original, row_errors)
            if raw.get("code"):
                rejected_lines.setdefault(raw["code"], line)
            continue
        rows[row.code] = row

    def reject(row: _Row, column: str, value: str, reason: str) -> None:
        errors.reject_one(row.line, row.original, column, value, reason)
        rejected_lines.setdefault(row.code, row.line)
        rows.pop(row.code, None)

    wanted = set(rows) | {row.parent_code for row in rows.values() if row.parent_code}
    existing: dict[str, dict] = {}
    for codes in chunked(sorted(wanted), CHUNK_SIZE):
        for node in Jurisdiction.objects.filter(code__in=codes).values(
            "id", "code", "level", "path", "depth", "name", "name_en", "population", "parent__code"
        ):
            existing[node["code"]] = node

    updates, unchanged = [], 0
    for row in list(rows.values()):
        node = existing.get(row.code)
        if node is None:
            continue
        rows.pop(row.code)
        if (node["parent__code"] or "") != row.parent_code:
            errors.reject_one(
                row.line,
                row.original,
                "parent_code",
                row.parent_code,
                reason("moving a node to another parent is not supported (it is under %(parent)s)")
                % {"parent": node["parent__code"] or reason("no parent")},
            )
        elif node["level"] != row.level:
            errors.reject_one(
                row.line,
                row.original,
                "level",
                row.level,
                reason(
                    "changing the level of an existing node is not supported (it is a %(level)s)"
                )
                % {"level": node["level"]},
            )
        elif prefix is None or not node["path"].startswith(prefix):
            errors.reject_one(
                row.line, row.original, "code", row.code, reason("node outside your jurisdiction")
            )
        else:
            after = {"name": row.name}
            if row.name_en is not None:
                after["name_en"] = row.name_en
            if row.population_given:
                after["population"] = row.population
            changes = diff({key: node[key] for key in after}, after)
            if changes:
                updates.append((node, after, changes))
            else:
                unchanged += 1

    # Topological order (Kahn): a new node is placed once its parent is known, from the
    # database or from a row placed earlier, so the file may list children first.
    placed: dict[str, tuple[str, int, str]] = {}  # code -> (path, depth, level) of new nodes
    waiting: dict[str, list[_Row]] = {}
    ready: list[_Row] = []
    for row in sorted(rows.values(), key=lambda r: r.line):
        if not row.parent_code or row.parent_code in existing:
            ready.append(row)
        elif row.parent_code in rows:
            waiting.setdefault(row.parent_code, []).append(row)
        elif row.parent_code in rejected_lines:
            reject(
                row,
                "parent_code",
                row.parent_code,
                reason("parent %(code)s was rejected (line %(line)s)")
                % {"code": row.parent_code, "line": rejected_lines[row.parent_code]},
            )
        else:
            reject(
                row,
                "parent_code",
                row.parent_code,
                reason("parent %(code)s is neither in the file nor in the database")
                % {"code": row.parent_code},
            )
    order: list[_Row] = []
    while ready:
        row = ready.pop()
        if row.parent_code in placed:
            parent_path, parent_depth, parent_level = placed[row.parent_code]
        elif row.parent_code:
            parent = existing[row.parent_code]
            parent_path, parent_depth, parent_level = (
                parent["path"],
                parent["depth"],
                parent["level"],
            )
        else:
            parent_path, parent_depth, parent_level = "/", -1, None
        path = f"{parent_path}{row.code}/"
        if parent_level and LEVEL_ORDER.index(row.level) <= LEVEL_ORDER.index(parent_level):
            reject(
                row,
                "level",
                row.level,
                reason("a %(level)s cannot sit under a %(parent)s")
                % {"level": row.level, "parent": parent_level},
            )
            continue
        if prefix is None or not path.startswith(prefix) or path == prefix:
            reject(row, "code", row.code, reason("node outside your jurisdiction"))
            continue
        if len(path) > _PATH_MAX:
            reject(
                row,
                "code",
                row.code,
                reason("the tree is too deep: the path exceeds %(max)s characters")
                % {"max": _PATH_MAX},
            )
            continue
        row.path, row.depth = path, parent_depth + 1
        placed[row.code] = (path, row.depth, row.level)
        order.append(row)
        ready.extend(waiting.pop(row.code, []))

    # What is still waiting hangs off a cycle, or off a row rejected while placing.
    leftovers = sorted((r for group in waiting.values() for r in group), key=lambda r: r.line)
    for row in leftovers:
        chain, current = [], row
        while current is not None and current.code in rows and current not in chain:
            chain.append(current)
            current = rows.get(current.parent_code)
        start = chain.index(current) if current in chain else len(chain)
        cycle = chain[start:]
        if cycle:
            codes = " → ".join([r.code for r in cycle] + [cycle[0].code])
            for member in cycle:
                reject(
                    member,
                    "parent_code",
                    member.parent_code,
                    reason("cycle in parent codes: %(cycle)s") % {"cycle": codes},
                )
        for member in reversed(chain[:start]):
            reject(
                member,
                "parent_code",
                member.parent_code,
                reason("parent %(code)s was rejected (line %(line)s)")
                % {"code": member.parent_code, "line": rejected_lines[member.parent_code]},
            )

    with transaction.atomic():
        # One transaction: a failure half-way must not leave half a tree behind.
        created = _write(order, existing, updates, actor)
    job = job_finish(
        job,
        header=table.header,
        columns=table.columns,
        errors=errors,
        total=table.read,
        created=created,
        updated=len(updates),
        unchanged=unchanged,
    )
    audit_record(
        actor=actor,
        action=Action.IMPORT,
        object_type="geo.jurisdiction",
        object_id=str(job.pk),
        object_repr=job.filename,
        jurisdiction_path=job.jurisdiction_path,
        changes=_counts(job),
    )
    return job


def _counts(job: ImportJob) -> dict:
    return {
        "rows": job.total_rows,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
    }


def _write(order: list[_Row], existing: dict[str, dict], updates: list, actor) -> int:
    ids = {code: node["id"] for code, node in existing.items()}
    by_depth: dict[int, list[_Row]] = {}
    for row in order:
        by_depth.setdefault(row.depth, []).append(row)
    created = 0
    # Depth by depth, so every parent has its id before its children are inserted.
    for depth in sorted(by_depth):
        for chunk in chunked(by_depth[depth], CHUNK_SIZE):
            nodes = [
                Jurisdiction(
                    code=row.code,
                    parent_id=ids[row.parent_code] if row.parent_code else None,
                    level=row.level,
                    name=row.name,
                    name_en=row.name_en or "",
                    population=row.population,
                    path=row.path,
                    depth=row.depth,
                )
                for row in chunk
            ]
            with transaction.atomic():
                Jurisdiction.objects.bulk_create(nodes, batch_size=1000)
            if any(node.pk is None for node in nodes):  # backends that cannot return ids
                ids.update(
                    Jurisdiction.objects.filter(code__in=[n.code for n in nodes]).values_list(
                        "code", "id"
                    )
                )
            else:
                ids.update((node.code, node.pk) for node in nodes)
            created += len(nodes)
    actor_fields = audit_fields(actor)
    for chunk in chunked(updates, CHUNK_SIZE):
        objects = [
            Jurisdiction(id=node["id"], **{**{k: node[k] for k in UPDATABLE}, **after})
            for node, after, _changes in chunk
        ]
        with transaction.atomic():
            Jurisdiction.objects.bulk_update(objects, fields=UPDATABLE)
            AuditEntry.objects.bulk_create(
                [
                    AuditEntry(
                        **actor_fields,
                        action=Action.UPDATE,
                        object_type="geo.jurisdiction",
                        object_id=str(node["id"]),
                        object_repr=f"{after['name']} ({node['code']})"[:200],
                        jurisdiction_path=node["path"],
                        changes=changes,
                    )
                    for node, after, changes in chunk
                ]
            )
    return created


def geo_export(*, actor, out: IO, fmt: str = "csv") -> int:
    """Write the actor's subtree (the whole tree for actor None) in the import's columns, parents
    before children, so the file imports back unchanged. Returns the number of rows."""
    prefix = operator_or_actor_path(actor)
    qs = (
        Jurisdiction.objects.all()
        if prefix == "/"
        else Jurisdiction.objects.filter(path__startswith=prefix)
        if prefix
        else Jurisdiction.objects.none()
    )
    # Ordering by the materialised path lists every node right after its ancestors.
    rows = (
        qs.order_by("path")
        .values_list("code", "parent__code", "level", "name", "name_en", "population")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    count = write_table(out, fmt=fmt, header=COLUMNS, rows=rows)
    audit_record(
        actor=actor,
        action=Action.EXPORT,
        object_type="geo.jurisdiction",
        jurisdiction_path=prefix or "",
        changes={"rows": count},
    )
    return count
