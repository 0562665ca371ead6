"""The drills part of the demo story: one finished live drill on a small sandbox city, played on
a wound-back clock (six seeded cases over 20 simulated hours), with its score card.

The epidemiologist registers each case's household as close contacts and puts the first cases'
contacts under control, the isolation desk assigns rooms, HQ dispatches two tasks (one closed in
time, one left open), and the commander ends the drill. Everything runs on the sandbox through
the modules' own services; the live city gets only the drill's bookkeeping."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level

from . import routing, services
from .models import Drill

DEMO_NAME = "演练：全市聚集性疫情处置（示例）"
PLAYED_HOURS = 30


def drills_demo(stdout, seed: int) -> None:
    if Drill.objects.filter(name=DEMO_NAME).exists():
        stdout.write("演练: 演示数据已存在，保持不变。")
        return
    User = get_user_model()
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["commander", "epidemiologist", "grid_worker", "isolation_staff"]
        ).select_related("jurisdiction")
    }
    if "commander" not in users or "epidemiologist" not in users:
        stdout.write("演练: 缺少演示账号，跳过。")
        return
    commander, epi = users["commander"], users["epidemiologist"]
    city = demo_nodes()[Level.CITY]
    drill = services.drill_create(
        actor=commander,
        name=DEMO_NAME,
        jurisdiction=city,
        participants=[u for k, u in users.items() if k != "commander"],
        population=1000,
        seed=seed,
        cases=6,
    )
    drill = services.drill_start(actor=commander, drill=drill)
    with routing.live():
        Drill.objects.filter(pk=drill.pk).update(
            started_at=drill.started_at - dt.timedelta(hours=PLAYED_HOURS) / drill.speed
        )
        drill.refresh_from_db()
    services.drill_tick(drill=drill)
    _play(drill, commander, epi)
    drill = services.drill_end(actor=commander, drill=drill)
    card = drill.scorecard
    stdout.write(
        f"演练: 「{drill.name}」已结束，{len(card['intervals'])} 项五早间隔，"
        f"{card['contacts']['total']} 名密接，达标 {card['targets_met']}/{card['targets_scored']}。"
    )


def _play(drill: Drill, commander, epi) -> None:
    from fangkong.command.services import task_dispatch, task_set_state
    from fangkong.control.models import ControlOrder
    from fangkong.control.services import rooms_assign_batch
    from fangkong.geo.models import Jurisdiction
    from fangkong.people.models import Person
    from fangkong.tracing import services as tracing
    from fangkong.tracing.models import Case

    per_hour = dt.timedelta(hours=1) / drill.speed
    now = timezone.now()
    with routing.active(drill.sandbox):
        cases = list(Case.objects.order_by("reported_at").select_related("person"))
        for index, case in enumerate(cases):
            members = Person.objects.filter(household_id=case.person.household_id).exclude(
                pk__in=[c.person_id for c in cases]
            )
            contacts = [
                tracing.contact_add(
                    actor=epi,
                    person=person,
                    setting="household",
                    last_exposure_at=case.reported_at - per_hour,
                    source_case=case,
                )
                for person in members.order_by("id")[:3]
            ]
            if index < 4:  # the last cases' contacts are still being verified when it ends
                for contact in contacts:
                    contact = tracing.lead_verify(actor=epi, contact=contact)
                    tracing.lead_control(actor=epi, contact=contact)
                tracing.case_times_set(actor=epi, case=case, isolated_at=now)
        orders = list(ControlOrder.objects.values_list("id", flat=True))
        if orders:
            rooms_assign_batch(actor=None, orders=orders)
        node = Jurisdiction.objects.get(path=drill.jpath)
        done = task_dispatch(
            actor=commander,
            title="完成首例病例密接排查",
            deadline=now + dt.timedelta(minutes=5),
            node=node,
        )
        task_set_state(actor=commander, task=done, state="done")
        task_dispatch(
            actor=commander,
            title="启动全员核酸检测",
            deadline=now - 6 * per_hour,
            node=node,
        )
