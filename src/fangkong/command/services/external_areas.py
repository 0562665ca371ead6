"""Writes of the command centre: other cities' risk areas from a file."""

from __future__ import annotations

from django.db import transaction

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import imports
from fangkong.common.scope import operator_or_actor_path

from .. import roles
from ..models import RiskArea, RiskLevel
from ..policy import LEVELS_OF_PRESET
from ._common import _require

IMPORT_COLUMNS = ["province", "city", "district", "area_name", "level", "since"]
_IMPORT_ALIASES = {
    "省": "province",
    "市": "city",
    "区": "district",
    "区县": "district",
    "地区": "area_name",
    "风险区": "area_name",
    "名称": "area_name",
    "等级": "level",
    "风险等级": "level",
    "起始日期": "since",
}
_LEVEL_WORDS = [
    ("高", RiskLevel.HIGH),
    ("中", RiskLevel.MEDIUM),
    ("低", RiskLevel.LOW),
    ("封控", RiskLevel.SEALED),
    ("管控", RiskLevel.CONTROLLED),
    ("防范", RiskLevel.PRECAUTION),
]


def parse_risk_level(value: str) -> str:
    text = value.strip().lower()
    if text in RiskLevel.values:
        return text
    for word, level in _LEVEL_WORDS:
        if text.startswith(word):
            return level
    raise ValueError(value)


def external_key(province: str, city: str, district: str, area_name: str) -> str:
    return "|".join((province, city, district, area_name))


def risk_areas_import(
    *, actor, source, filename: str = "", mode: str = imports.ImportJob.Mode.KEEP_GOOD
) -> imports.ImportJob:
    """Other cities' risk areas: one row per area, keyed by province, city, district and name.

    Re-importing the same file changes nothing; a changed level or date updates the area."""
    if actor is not None:
        _require(roles.can_declare(actor))
    return imports.run_import(
        kind="command.risk_areas",
        actor=actor,
        source=source,
        filename=filename,
        aliases=_IMPORT_ALIASES,
        required=IMPORT_COLUMNS,
        body=lambda job, table: _import_body(actor, job, table),
        mode=mode,
    )


def _import_body(actor, job, table) -> imports.ImportJob:
    errors = table.errors
    wanted: dict[str, dict] = {}
    for line, row in table.rows:
        values = table.original(row)
        problems = []
        for column in ("province", "city", "area_name"):
            if not row.get(column):
                problems.append(
                    imports.RowError(line, column, "", imports.reason("this column is required"))
                )
        try:
            level = parse_risk_level(row.get("level", ""))
        except ValueError:
            problems.append(
                imports.RowError(
                    line, "level", row.get("level", ""), imports.reason("unknown risk level")
                )
            )
        try:
            since = imports.parse_date(row.get("since", ""))
        except ValueError:
            problems.append(
                imports.RowError(
                    line, "since", row.get("since", ""), imports.reason("not a date (YYYY-MM-DD)")
                )
            )
        if problems:
            errors.reject(line, values, problems)
            continue
        key = external_key(row["province"], row["city"], row.get("district", ""), row["area_name"])
        if key in wanted:
            errors.reject_one(
                line,
                values,
                "area_name",
                row["area_name"],
                imports.reason("the same area appears on line %(line)s")
                % {"line": wanted[key]["line"]},
            )
            continue
        wanted[key] = {
            "line": line,
            "province": row["province"],
            "city": row["city"],
            "district": row.get("district", ""),
            "name": row["area_name"],
            "level": level,
            "since": since,
        }
    existing = {
        area.external_key: area for area in RiskArea.objects.filter(external_key__in=wanted)
    }
    new, changed, unchanged = [], [], 0
    for key, data in wanted.items():
        preset = (
            RiskArea.Preset.ZONES
            if data["level"] in LEVELS_OF_PRESET[RiskArea.Preset.ZONES]
            else RiskArea.Preset.JUN_2022
        )
        area = existing.get(key)
        if area is None:
            new.append(
                RiskArea(
                    name=data["name"],
                    level=data["level"],
                    preset=preset,
                    external=True,
                    province=data["province"],
                    city=data["city"],
                    district=data["district"],
                    external_key=key,
                    since=data["since"],
                    level_since=data["since"],
                )
            )
        elif (area.level, area.since, area.ended_on) != (data["level"], data["since"], None):
            area.level, area.since, area.level_since = data["level"], data["since"], data["since"]
            area.preset, area.ended_on = preset, None
            changed.append(area)
        else:
            unchanged += 1
    with transaction.atomic():
        RiskArea.objects.bulk_create(new)
        RiskArea.objects.bulk_update(
            changed, ["level", "since", "level_since", "preset", "ended_on"]
        )
        if new or changed:
            audit_record(
                actor=actor,
                action=Action.IMPORT,
                object_type="command.riskarea",
                object_repr=job.filename,
                jurisdiction_path=operator_or_actor_path(actor) or "",
                changes={"created": len(new), "updated": len(changed)},
            )
    return imports.job_finish(
        job,
        header=table.header,
        columns=table.columns,
        errors=errors,
        total=table.read,
        created=len(new),
        updated=len(changed),
        unchanged=unchanged,
    )
