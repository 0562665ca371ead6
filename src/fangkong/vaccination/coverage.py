"""Coverage counters per grid and age band: refreshed set-based, kept by the writers, read as sums.

The city's coverage at ten million people must answer in well under a second, so it is never
computed from the doses at read time. `refresh` rebuilds the counters of some grids (or all) in
one INSERT … SELECT over the registry and each person's highest dose; a dose recorded at a site
adds one to its grid's counters (`count_dose`). Reading is a sum over grids × bands.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from fangkong.geo.models import Jurisdiction

from . import schedule
from .models import BAND_MIN_AGE, AgeBand, GridCoverage

# Above this many grids an import refreshes the whole table rather than grid by grid.
WHOLE_REFRESH_GRIDS = 2000
LEVELS = ("first", "full", "booster", "booster2")


def _pg() -> bool:
    return connection.vendor == "postgresql"


def band_sql(column: str, day: dt.date) -> tuple[str, list]:
    """A CASE giving the AgeBand of the birth date in `column` on `day`."""
    parts, params = [], []
    for band, cutoff in schedule.band_cutoffs(day):
        parts.append(f"WHEN {column} <= %s THEN {band}")
        params.append(cutoff)
    return f"CASE {' '.join(parts)} ELSE {int(AgeBand.UNDER_THREE)} END", params


def refresh(*, grid_ids: list[int] | None = None, day: dt.date | None = None) -> int:
    """Rebuild the counters of `grid_ids` (None: every grid) as of `day` (today): registered
    people per age band, and of them those with a first dose, the full course (of their first
    dose's product), a booster and a second booster. Returns the rows written."""
    day = day or timezone.localdate()
    band, band_params = band_sql("p.birth_date", day)
    where_p, where_params = "", []
    dose_where, dose_params = "", []
    if grid_ids is not None:
        if not grid_ids:
            return 0
        marks = ", ".join(["%s"] * len(grid_ids))
        where_p = f"WHERE p.grid_id IN ({marks})"
        where_params = list(grid_ids)
        dose_where = (
            f"WHERE d.person_id IN (SELECT id FROM people_person WHERE grid_id IN ({marks}))"
        )
        dose_params = list(grid_ids)
    with transaction.atomic(), connection.cursor() as cursor:
        if _pg():
            cursor.execute("SET LOCAL work_mem = '512MB'")
        if grid_ids is None:
            cursor.execute("DELETE FROM vaccination_gridcoverage")
        else:
            cursor.execute(
                f"DELETE FROM vaccination_gridcoverage WHERE grid_id IN ({marks})", grid_ids
            )
        # The course follows the first dose's product; without dose 1 on file, the lowest one's.
        cursor.execute(
            f"""
            INSERT INTO vaccination_gridcoverage
                (grid_id, jpath, band, population, first, "full", booster, booster2, as_of)
            SELECT p.grid_id, p.jpath, {band}, count(*),
                sum(CASE WHEN d.n >= 1 THEN 1 ELSE 0 END),
                sum(CASE WHEN d.n >= pr.primary_doses THEN 1 ELSE 0 END),
                sum(CASE WHEN d.n >= pr.primary_doses + 1 THEN 1 ELSE 0 END),
                sum(CASE WHEN d.n >= pr.primary_doses + 2 THEN 1 ELSE 0 END),
                %s
            FROM people_person p
            LEFT JOIN (
                SELECT d.person_id, max(d.dose_number) AS n,
                    COALESCE(min(CASE WHEN d.dose_number = 1 THEN d.product_id END),
                             min(d.product_id)) AS product_id
                FROM vaccination_dose d {dose_where}
                GROUP BY d.person_id
            ) d ON d.person_id = p.id
            LEFT JOIN vaccination_product pr ON pr.id = d.product_id
            {where_p}
            GROUP BY p.grid_id, p.jpath, {band}
            """,
            [*band_params, day, *dose_params, *where_params, *band_params],
        )
        return cursor.rowcount


def count_dose(*, person, doses_before: int, primary_doses: int, day: dt.date | None = None):
    """Add a newly recorded dose (the person's dose `doses_before + 1`) to its grid's counters;
    a grid without counters yet is refreshed whole (the new dose is already stored)."""
    day = day or timezone.localdate()
    band = schedule.band_of(schedule.age_on(person.birth_date, day))
    n = doses_before + 1
    reached = [
        level
        for level, threshold in zip(
            LEVELS, (1, primary_doses, primary_doses + 1, primary_doses + 2), strict=True
        )
        if doses_before < threshold <= n
    ]
    row = GridCoverage.objects.filter(grid_id=person.grid_id, band=band)
    if not row.exists():
        refresh(grid_ids=[person.grid_id], day=day)
        return
    if reached:
        from django.db.models import F

        row.update(**{level: F(level) + 1 for level in reached})


def _empty() -> dict:
    return {"population": 0, **dict.fromkeys(LEVELS, 0)}


def _add(into: dict, row) -> None:
    into["population"] += row[0]
    for i, level in enumerate(LEVELS, start=1):
        into[level] += row[i]


def _rates(counts: dict) -> dict:
    pop = counts["population"]
    return {
        **counts,
        **{
            f"{level}_pct": round(100.0 * counts[level] / pop, 1) if pop else None
            for level in LEVELS
        },
    }


def read(*, path: str, node: Jurisdiction | None = None) -> dict:
    """Coverage of the subtree at `path`: the total of the eligible (3 and over), each age band,
    the elderly (60+, 80+) and each child node of `node`. One indexed read of the counters."""
    depth = len([c for c in path.split("/") if c])
    sql = (
        'SELECT jpath, band, population, first, "full", booster, booster2, as_of '
        "FROM vaccination_gridcoverage"
    )
    params: list = []
    if path != "/":
        sql += " WHERE jpath LIKE %s"
        params.append(path + "%")
    bands = {b: _empty() for b in AgeBand.values}
    children: dict[str, dict] = {}
    as_of = None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for jpath, band, *counts, row_day in cursor.fetchall():
            _add(bands[band], counts)
            as_of = row_day if as_of is None or str(row_day) < str(as_of) else as_of
            code = jpath.split("/")[depth + 1] if jpath.count("/") > depth + 1 else ""
            if code and band in BAND_MIN_AGE:
                _add(children.setdefault(code, _empty()), counts)
    total = _empty()
    for band in BAND_MIN_AGE:
        for key, value in bands[band].items():
            total[key] += value
    elderly = {}
    for name, low in (("aged_60_plus", 60), ("aged_80_plus", 80)):
        group = _empty()
        for band, band_low in BAND_MIN_AGE.items():
            if band_low >= low:
                for key, value in bands[band].items():
                    group[key] += value
        elderly[name] = _rates(group)
    nodes = {
        j.code: j
        for j in Jurisdiction.objects.filter(code__in=list(children)).only(
            "code", "name", "level", "path"
        )
    }
    return {
        "as_of": as_of
        if isinstance(as_of, dt.date) or as_of is None
        else dt.date.fromisoformat(str(as_of)),
        "total": _rates(total),
        "registered": total["population"] + bands[AgeBand.UNDER_THREE]["population"],
        "bands": [
            {"band": int(b), "label": str(AgeBand(b).label), **_rates(bands[b])}
            for b in BAND_MIN_AGE
        ],
        "elderly": elderly,
        "children": [
            {
                "code": code,
                "name": nodes[code].name if code in nodes else code,
                "level": nodes[code].level if code in nodes else "",
                **_rates(children[code]),
            }
            for code in sorted(children)
        ],
    }
