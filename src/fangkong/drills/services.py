"""Writes of drills: prepare (sandbox + scenario), start, join, tick, step, end (score card).

The bookkeeping rows and their audit entries go to the live database (``routing.live()``), the
seeded cases to the sandbox (``routing.active(drill.sandbox)``): nothing here relies on which
database the caller's request is routed to.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors, events
from fangkong.common.scope import path_within, require

from . import roles, routing, sandbox, scenario, score
from .models import Drill, Inject, Participant

LIVE = "default"
MAX_POPULATION = 200_000
MAX_CASES = 20


class DrillError(errors.DomainError):
    pass


class Conflict(DrillError, errors.Conflict):
    pass


def _audit(actor, drill: Drill, action: str, changes: dict) -> None:
    audit_record(actor=actor, action=action, obj=drill, changes=changes)


def _inside_area(users, path: str):
    """The participants, each checked to work inside the drill's area (else a refusal)."""
    for user in users:
        node = getattr(user, "jurisdiction", None)
        if node is None or not node.path.startswith(path):
            raise DrillError(
                _("%s works outside the drill's area.") % user.username,
                code="participant_outside_area",
            )
        yield user


def drill_create(
    *,
    actor,
    name: str,
    jurisdiction,
    participants=(),
    mode: str = Drill.Mode.LIVE,
    speed: int = 60,
    population: int = 3000,
    seed: int = 1,
    cases: int = 6,
) -> Drill:
    """Prepare a drill: its sandbox (schema, tree, accounts, isolation site, population) and its
    scenario (the seeded cases and when they come). The clock starts with drill_start."""
    require(actor, roles.can_direct)
    if not path_within(actor, jurisdiction.path):
        raise errors.NotFound()
    name = (name or "").strip()
    if not name:
        raise DrillError(_("A drill needs a name."), code="name_required")
    if mode not in Drill.Mode.values:
        raise DrillError(_("Unknown mode: %s") % mode, code="unknown_mode")
    if not 1 <= speed <= 600:
        raise DrillError(_("The speed is 1 to 600 simulated hours per real hour."), code="speed")
    if not 10 <= population <= MAX_POPULATION:
        raise DrillError(
            _("The synthetic population is 10 to %s people.") % f"{MAX_POPULATION:,}",
            code="population",
        )
    if not 1 <= cases <= MAX_CASES:
        raise DrillError(_("A scenario seeds 1 to %s cases.") % MAX_CASES, code="cases")
    users = {actor.pk: actor}
    for user in _inside_area(participants, jurisdiction.path):
        users[user.pk] = user
    with routing.live(), transaction.atomic(using=LIVE):
        drill = Drill.objects.create(
            name=name[:120],
            mode=mode,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            speed=speed,
            population=population,
            seed=seed,
            sandbox=sandbox.new_name(),
            created_by=actor,
        )
        Participant.objects.bulk_create(Participant(drill=drill, user_id=pk) for pk in users)
    try:
        alias = sandbox.create(drill.sandbox)
        counts = sandbox.seed(
            alias=alias,
            node=jurisdiction,
            users=list(users.values()),
            population=population,
            seed_value=seed,
        )
        _isolation_site(drill, counts["people"])
        with routing.active(alias):
            from fangkong.people.models import Person

            person_ids = list(Person.objects.order_by("id").values_list("id", flat=True))
    except BaseException:
        sandbox.drop(drill.sandbox)
        with routing.live():
            drill.delete()
        raise
    with routing.live(), transaction.atomic(using=LIVE):
        Inject.objects.bulk_create(
            Inject(drill=drill, number=i["number"], at_hours=i["at_hours"], payload=i["payload"])
            for i in scenario.plan(person_ids=person_ids, seed=seed, cases=cases)
        )
        drill.sandbox_ready = True
        drill.save(update_fields=["sandbox_ready"])
        audit_created(
            actor=actor,
            obj=drill,
            fields={"name": drill.name, "mode": mode, "speed": speed, **counts},
        )
        events.publish("drills.prepared", drill_id=drill.pk)
    return drill


def _isolation_site(drill: Drill, people: int) -> None:
    """The sandbox's isolation site, sized by the reserve rule (20 rooms per 10,000 residents),
    at least one floor of 10."""
    from fangkong.control.services import site_create
    from fangkong.geo.models import Jurisdiction

    rooms = max(10, -(-people * 20 // 10_000))
    floors = -(-rooms // 20)
    with routing.active(drill.sandbox):
        node = Jurisdiction.objects.get(path=drill.jpath)
        site_create(
            actor=None,
            code=f"DRILL-{drill.pk}",
            name=_("Drill isolation site"),
            jurisdiction=node,
            floors=floors,
            rooms_per_floor=min(20, rooms),
        )


def participants_add(*, actor, drill: Drill, users) -> int:
    require(actor, roles.can_direct)
    if drill.status == Drill.Status.ENDED:
        raise Conflict(_("The drill has ended."), code="drill_ended")
    added = []
    with routing.live(), transaction.atomic(using=LIVE):
        for user in _inside_area(users, drill.jpath):
            _participant, created = Participant.objects.get_or_create(drill=drill, user=user)
            if created:
                added.append(user)
        if added:
            _audit(actor, drill, "update", {"participants_added": [u.username for u in added]})
    if added:
        sandbox.add_accounts(alias=sandbox.connect(drill.sandbox), users=added)
    return len(added)


def drill_start(*, actor, drill: Drill) -> Drill:
    require(actor, roles.can_direct)
    with routing.live(), transaction.atomic(using=LIVE):
        drill = Drill.objects.select_for_update().get(pk=drill.pk)
        if drill.status != Drill.Status.READY or not drill.sandbox_ready:
            raise Conflict(
                _("Only a prepared drill that has not run yet starts."), code="not_ready"
            )
        drill.status = Drill.Status.RUNNING
        drill.started_at = timezone.now()
        drill.save(update_fields=["status", "started_at"])
        _audit(actor, drill, "update", {"status": ["ready", "running"]})
        events.publish("drills.started", drill_id=drill.pk)
    if drill.mode == Drill.Mode.LIVE:
        drill_tick(drill=drill)
    return drill


def drill_join(*, actor, drill: Drill) -> Participant:
    """The actor enters the drill (the page then sets the session flag): only a participant,
    only while it runs."""
    with routing.live(), transaction.atomic(using=LIVE):
        drill = Drill.objects.get(pk=drill.pk)
        participant = Participant.objects.filter(drill=drill, user_id=actor.pk).first()
        if participant is None:
            raise errors.Forbidden(_("You are not a participant of this drill."))
        if drill.status != Drill.Status.RUNNING:
            raise Conflict(_("Only a running drill can be joined."), code="not_running")
        if participant.joined_at is None:
            participant.joined_at = timezone.now()
            participant.save(update_fields=["joined_at"])
    return participant


def simulated_hours(drill: Drill, now: dt.datetime | None = None) -> float:
    if drill.started_at is None:
        return 0.0
    end = drill.ended_at or now or timezone.now()
    return (end - drill.started_at).total_seconds() / 3600 * drill.speed


def simulated_time(drill: Drill, now: dt.datetime | None = None) -> dt.datetime | None:
    if drill.started_at is None:
        return None
    return drill.started_at + dt.timedelta(hours=simulated_hours(drill, now))


def _release(drill: Drill, inject: Inject, now: dt.datetime) -> bool:
    """Release one inject into the sandbox; a concurrent request releasing it too loses."""
    with routing.live():
        claimed = Inject.objects.filter(pk=inject.pk, released_at__isnull=True).update(
            released_at=now
        )
    if not claimed:
        return False
    from fangkong.people.models import Person
    from fangkong.tracing.services import case_open

    payload = inject.payload
    try:
        with routing.active(drill.sandbox), transaction.atomic():
            person = Person.objects.get(pk=payload["person_id"])
            per_hour = dt.timedelta(hours=1) / drill.speed
            case = case_open(
                actor=None,
                person=person,
                classification=payload["classification"],
                reported_at=now,
                onset_at=now - payload["onset_hours_before"] * per_hour,
                first_visit_at=now - payload["visit_hours_before"] * per_hour,
                notes=_("Drill inject %(n)s") % {"n": inject.number},
                colocate=False,
            )
    except BaseException:
        with routing.live():
            Inject.objects.filter(pk=inject.pk).update(released_at=None)
        raise
    with routing.live():
        Inject.objects.filter(pk=inject.pk).update(case_code=case.code)
    inject.released_at, inject.case_code = now, case.code
    return True


def drill_tick(*, drill: Drill, now: dt.datetime | None = None) -> int:
    """Release the injects that are due on the drill's clock (a live drill that runs); called
    by every request of a participant and by the drill's page. Returns how many came out."""
    if drill.status != Drill.Status.RUNNING or drill.mode != Drill.Mode.LIVE:
        return 0
    now = now or timezone.now()
    hours = simulated_hours(drill, now)
    with routing.live():
        due = list(
            Inject.objects.filter(drill=drill, released_at__isnull=True, at_hours__lte=hours)
        )
    # Each case comes out at the moment it was due on the clock, whoever loaded a page then.
    per_hour = dt.timedelta(hours=1) / drill.speed
    return sum(
        1
        for inject in due
        if _release(drill, inject, min(now, drill.started_at + inject.at_hours * per_hour))
    )


def tabletop_step(*, actor, drill: Drill) -> Inject:
    """Tabletop: play the next inject, and keep the figures the modules produce right after it
    (the daily-report figures of the drill's area, and the score card so far)."""
    require(actor, roles.can_direct)
    if drill.mode != Drill.Mode.TABLETOP:
        raise Conflict(_("Only a tabletop exercise is played step by step."), code="not_tabletop")
    if drill.status != Drill.Status.RUNNING:
        raise Conflict(_("Only a running drill can be played."), code="not_running")
    with routing.live():
        inject = (
            Inject.objects.filter(drill=drill, released_at__isnull=True).order_by("number").first()
        )
    if inject is None:
        raise Conflict(_("Every step of the scenario has been played."), code="no_more_steps")
    now = timezone.now()
    _release(drill, inject, now)
    figures = step_figures(drill, now)
    with routing.live():
        Inject.objects.filter(pk=inject.pk).update(figures=figures)
        _audit(actor, drill, "update", {"step": inject.number, "case": inject.case_code})
    inject.figures = figures
    return inject


def step_figures(drill: Drill, now: dt.datetime) -> dict:
    """The modules' own daily-report figures for the drill's area, read in the sandbox."""
    from fangkong.command import figures

    with routing.active(drill.sandbox):
        day = timezone.localdate(now)
        values = figures.collect(drill.jpath, day)
        labels = figures.labels()
    return {
        "day": day,
        "figures": [
            {"key": key, "label": str(labels.get(key, key)), "value": value}
            for key, value in values.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ],
    }


def drill_end(*, actor, drill: Drill) -> Drill:
    """Stop the clock and score the drill from its sandbox; the sandbox stays for the debrief."""
    require(actor, roles.can_direct)
    with routing.live():
        drill = Drill.objects.get(pk=drill.pk)
    if drill.status != Drill.Status.RUNNING:
        raise Conflict(_("Only a running drill ends."), code="not_running")
    sandbox.connect(drill.sandbox)
    now = timezone.now()
    drill_tick(drill=drill, now=now)
    card = score.compute(drill, now=now)
    with routing.live(), transaction.atomic(using=LIVE):
        updated = Drill.objects.filter(pk=drill.pk, status=Drill.Status.RUNNING).update(
            status=Drill.Status.ENDED, ended_at=now, scorecard=_jsonable(card)
        )
        if not updated:
            raise Conflict(_("Only a running drill ends."), code="not_running")
        drill.refresh_from_db()
        _audit(
            actor,
            drill,
            "update",
            {
                "status": ["running", "ended"],
                "targets_met": card["targets_met"],
                "targets_scored": card["targets_scored"],
            },
        )
        events.publish("drills.ended", drill_id=drill.pk)
    return drill


def drill_discard(*, actor, drill: Drill) -> None:
    """Remove an ended drill's sandbox (the score card stays)."""
    require(actor, roles.can_direct)
    if drill.status == Drill.Status.RUNNING:
        raise Conflict(_("End the drill first."), code="running")
    sandbox.drop(drill.sandbox)
    with routing.live():
        Drill.objects.filter(pk=drill.pk).update(sandbox_ready=False)
        _audit(actor, drill, "update", {"sandbox": "discarded"})


def _jsonable(card: dict) -> dict:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(card, cls=DjangoJSONEncoder))
