"""The score card of a drill, read from its sandbox's own timestamps and scaled by the drill's
clock (real hours × speed = simulated hours), against the targets (targets.py)."""

from __future__ import annotations

import statistics

from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from . import routing, targets


def _median(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 1) if xs else None


def _sim_hours(a, b, speed: int) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() / 3600 * speed


def compute(drill, *, now=None) -> dict:
    """The score card of ``drill`` as it stands (its sandbox must exist)."""
    now = now or timezone.now()
    with routing.active(drill.sandbox):
        card = {
            "speed": drill.speed,
            "simulated_hours": round(_sim_hours(drill.started_at, now, drill.speed) or 0.0, 1),
            "computed_at": now,
        }
        card["intervals"] = _intervals(drill)
        card["contacts"] = _contacts(drill, now)
        card["rounds"] = _rounds(drill)
        card["rooms"] = _rooms(drill)
        card["tasks"] = _tasks(drill, now)
    card["problems"] = _problems(card)
    checks = [i["met"] for i in card["intervals"] if i["met"] is not None]
    checks += [
        part["met"]
        for part in (card["contacts"], card["rooms"], card["tasks"])
        if part["met"] is not None
    ]
    checks += [r["met"] for r in card["rounds"]]
    card["targets_met"] = sum(1 for c in checks if c)
    card["targets_scored"] = len(checks)
    return card


def _intervals(drill) -> list[dict]:
    from fangkong.tracing.models import Case
    from fangkong.tracing.selectors import INTERVALS

    fields = sorted({f for _k, _l, a, b, _e in INTERVALS for f in (a, b)})
    rows = list(Case.objects.filter(jpath__startswith=drill.jpath).values(*fields).order_by())
    out = []
    for key, label, a, b, _early in INTERVALS:
        hours = [h for row in rows if (h := _sim_hours(row[a], row[b], drill.speed)) is not None]
        median = _median(hours)
        target = targets.TARGETS.get(key)
        out.append(
            {
                "key": key,
                "label": str(label),
                "cases": len(hours),
                "median_hours": median,
                "target_hours": target[1] if target else None,
                # No case has both moments yet: nothing to score (not a miss).
                "met": (median <= target[1]) if target and median is not None else None,
            }
        )
    return out


def _contacts(drill, now) -> dict:
    from fangkong.tracing.models import ContactLink

    target = targets.target("contacts_controlled")
    links = (
        ContactLink.objects.filter(
            source_case__isnull=False, contact__jpath__startswith=drill.jpath
        )
        .values("contact_id", "contact__controlled_at", "source_case__reported_at")
        .order_by()
    )
    # A contact of several cases counts from the earliest report it was linked to.
    first: dict[int, tuple] = {}
    for row in links:
        known = first.get(row["contact_id"])
        if known is None or row["source_case__reported_at"] < known[0]:
            first[row["contact_id"]] = (
                row["source_case__reported_at"],
                row["contact__controlled_at"],
            )
    hours, late, waiting = [], 0, 0
    for reported, controlled in first.values():
        if controlled is None:
            waiting += 1
            if _sim_hours(reported, now, drill.speed) > target:
                late += 1
            continue
        h = _sim_hours(reported, controlled, drill.speed)
        hours.append(h)
        if h > target:
            late += 1
    total = len(first)
    return {
        "total": total,
        "controlled": len(hours),
        "not_controlled": waiting,
        "late": late,
        "median_hours": _median(hours),
        "target_hours": target,
        "met": (late == 0) if total else None,
    }


def _rounds(drill) -> list[dict]:
    from fangkong.testing.bulk import stats_refresh
    from fangkong.testing.models import GridStat, Round, Tube

    out = []
    target = targets.target("round_completion")
    for round_ in Round.objects.order_by("id"):
        stats_refresh(round_id=round_.pk)
        sums = GridStat.objects.filter(round=round_, path__startswith=drill.jpath).aggregate(
            expected=Sum("expected"), sampled=Sum("sampled")
        )
        expected, sampled = sums["expected"] or 0, sums["sampled"] or 0
        coverage = round(100 * sampled / expected, 1) if expected else 0.0
        span = Tube.objects.filter(round=round_).aggregate(
            first=Min("sampled_at"), last=Max("sampled_at")
        )
        begun = round_.starts_at or round_.created_at
        hours = (
            round(_sim_hours(begun, span["last"], drill.speed), 1)
            if coverage >= targets.ROUND_COMPLETE_PERCENT and span["last"]
            else None
        )
        out.append(
            {
                "code": round_.code,
                "name": round_.name,
                "expected": expected,
                "sampled": sampled,
                "coverage": coverage,
                "hours": hours,
                "target_hours": target,
                "met": hours is not None and hours <= target,
            }
        )
    return out


def _rooms(drill) -> dict:
    from fangkong.control.models import ControlOrder, Measure

    orders = ControlOrder.objects.filter(
        jpath__startswith=drill.jpath, measure=Measure.CENTRALIZED
    ).exclude(status=ControlOrder.Status.CANCELLED)
    total = orders.count()
    with_room = orders.filter(room__isnull=False).count()
    percent = round(100 * with_room / total, 1) if total else None
    return {
        "centralized_orders": total,
        "with_room": with_room,
        "percent": percent,
        "target_percent": targets.target("rooms_assigned"),
        "met": (percent >= targets.target("rooms_assigned")) if total else None,
    }


def _tasks(drill, now) -> dict:
    from django.db.models import F, Q

    from fangkong.command.models import Task

    tasks = Task.objects.filter(assignee_path__startswith=drill.jpath)
    total = tasks.count()
    on_time = tasks.filter(state=Task.State.DONE, finished_at__lte=F("deadline")).count()
    overdue = tasks.filter(
        Q(state__in=Task.ACTIVE, deadline__lt=now)
        | Q(state=Task.State.DONE, finished_at__gt=F("deadline"))
    ).count()
    percent = round(100 * on_time / total, 1) if total else None
    return {
        "total": total,
        "done": tasks.filter(state=Task.State.DONE).count(),
        "on_time": on_time,
        "overdue": overdue,
        "percent": percent,
        "target_percent": targets.target("tasks_on_time"),
        "met": (percent >= targets.target("tasks_on_time")) if total else None,
    }


def _problems(card: dict) -> list[str]:
    """What went wrong, in plain words, for the debriefing."""
    out = []
    for item in card["intervals"]:
        if item["met"] is False:
            out.append(
                _("%(label)s: median %(hours)s h, target %(target)s h")
                % {
                    "label": item["label"],
                    "hours": item["median_hours"],
                    "target": item["target_hours"],
                }
            )
    contacts = card["contacts"]
    if contacts["total"] == 0:
        out.append(_("No contact of a seeded case was registered."))
    elif contacts["late"]:
        out.append(
            _("%(late)s of %(total)s contacts not under control within %(target)s h")
            % {
                "late": contacts["late"],
                "total": contacts["total"],
                "target": contacts["target_hours"],
            }
        )
    if not card["rounds"]:
        out.append(_("No test round was started."))
    for round_ in card["rounds"]:
        if not round_["met"]:
            out.append(
                _("Round %(code)s: %(coverage)s %% sampled, not complete within %(target)s h")
                % {
                    "code": round_["code"],
                    "coverage": round_["coverage"],
                    "target": round_["target_hours"],
                }
            )
    rooms = card["rooms"]
    if rooms["met"] is False:
        out.append(
            _("%(missing)s centralized orders without a room")
            % {"missing": rooms["centralized_orders"] - rooms["with_room"]}
        )
    tasks = card["tasks"]
    if tasks["overdue"]:
        out.append(_("%(n)s tasks overdue") % {"n": tasks["overdue"]})
    return out
