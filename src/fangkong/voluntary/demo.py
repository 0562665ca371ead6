"""The voluntary-testing part of the demo story (after mass testing's): the first three sampling points
of the city take bookings today and tomorrow, residents have booked, this morning's were
sampled by scanning their QR codes at the desk and reported negative, and one demo resident can
look up their result (the one-time code is printed to the server log by the default sender).

Idempotent: every start opens the slots of today and tomorrow; the bookings and samples are
made once. Times are local and relative to today; choices follow the registry order."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.models import Person
from fangkong.testing import services as testing
from fangkong.testing.models import Lab, Round, Site, Tube

from . import services
from .models import Booking, Schedule, Slot

ROUND = ("R-VOL", "愿检尽检（自愿检测）")
SITES = 3
BOOKED_TODAY = 12  # per site, in the first two morning slots
SAMPLED_TODAY = 8  # of those, per site
BOOKED_TOMORROW = 6  # per site


def voluntary_demo(stdout, seed: int) -> None:
    nodes = demo_nodes()
    # The first sampling points in registry order: the first district's, then its neighbours'.
    city = nodes[Level.CITY]
    sites = list(
        Site.objects.filter(jpath__startswith=city.path, kind=Site.Kind.FIXED).order_by(
            "jpath", "code"
        )[:SITES]
    )
    if not sites:
        stdout.write("愿检尽检: 没有采样点，跳过。")
        return
    today = timezone.localdate()
    with transaction.atomic():
        for site in sites:
            schedule = Schedule.objects.filter(site=site).first() or services.schedule_set(
                actor=None,
                site=site,
                opens=dt.time(8, 0),
                closes=dt.time(18, 0),
                slot_minutes=60,
                capacity=20,
            )
            for day in (today, today + dt.timedelta(days=1)):
                services.slots_open(actor=None, schedule=schedule, day=day)
    resident = _resident(nodes)
    if Booking.objects.exists():
        stdout.write("愿检尽检: 演示预约已存在，只开放今明两天的时段。")
    else:
        with transaction.atomic():
            _story(sites, city, today, resident)
    counts = {
        s: Booking.objects.filter(status=s).count() for s in ("booked", "sampled", "cancelled")
    }
    stdout.write(
        f"愿检尽检: {len(sites)} 个采样点开放预约（今明两天，每小时 20 人）；"
        f"已预约 {counts['booked']}，已扫码采样 {counts['sampled']}，已取消 {counts['cancelled']}。"
    )
    if resident is not None:
        stdout.write(
            f"  居民查询结果: /voluntary/results/ 输入身份证号 {resident.document_number}"
            f"（{resident.name}），短信验证码见服务器日志（SMS to {resident.phone}）。"
        )


def _resident(nodes) -> Person | None:
    return (
        Person.objects.filter(jpath__startswith=nodes[Level.GRID].path)
        .exclude(phone="")
        .order_by("id")
        .first()
    )


def _story(sites, city, today, resident) -> None:
    round_ = Round.objects.filter(code=ROUND[0]).first() or testing.round_create(
        actor=None,
        code=ROUND[0],
        name=ROUND[1],
        scope=[city],
        pool_size=10,
        warning_hours=12,
        breach_hours=24,  # voluntary testing: results within 24 hours
    )
    lab = Lab.objects.order_by("code").first()
    people = list(
        Person.objects.filter(jpath__startswith=city.path)
        .exclude(phone="")
        .order_by("id")[: len(sites) * (BOOKED_TODAY + BOOKED_TOMORROW) + 1]
    )
    if resident is not None:
        people = [resident, *[p for p in people if p.pk != resident.pk]]
    morning = timezone.make_aware(dt.datetime.combine(today, dt.time(7, 0)))
    k = 0
    for s, site in enumerate(sites):
        slots = list(Slot.objects.filter(site=site, day=today).order_by("starts")[:2])
        tomorrow = list(
            Slot.objects.filter(site=site, day=today + dt.timedelta(days=1)).order_by("starts")[:3]
        )
        today_bookings = []
        for i in range(BOOKED_TODAY):
            person = people[k]
            k += 1
            today_bookings.append(
                services.booking_create(
                    slot_id=slots[i % len(slots)].pk,
                    id_number=person.document_number,
                    name=person.name,
                    ip=None,
                    now=morning,
                    system=True,
                )
            )
        for i in range(BOOKED_TOMORROW):
            person = people[k]
            k += 1
            services.booking_create(
                slot_id=tomorrow[i % len(tomorrow)].pk,
                id_number=person.document_number,
                name=person.name,
                ip=None,
                now=morning,
                system=True,
            )
        # The desk scans the QR codes of the first arrivals into one pool (before 08:05 nobody
        # has come yet: the bookings wait).
        barcode = f"VOL{today:%y%m%d}{s:02d}"
        at = morning + dt.timedelta(hours=1, minutes=5)
        now = timezone.now()
        arrived = [
            b
            for j, b in enumerate(today_bookings[:SAMPLED_TODAY])
            if at + dt.timedelta(minutes=2 * j) <= now
        ]
        for j, booking in enumerate(arrived):
            testing.tube_scan(
                actor=None,
                round_=round_,
                barcode=barcode,
                site=site,
                code=booking.qr_payload,
                at=at + dt.timedelta(minutes=2 * j),
            )
        if arrived:
            tube = testing.tube_close(actor=None, tube=Tube.objects.get(barcode=barcode))
            if lab is not None:
                testing.result_record(
                    actor=None,
                    tube=tube,
                    result="negative",
                    lab=lab,
                    reported_at=min(at + dt.timedelta(hours=5), now),
                )
        # One resident changed their mind.
        services.booking_cancel(token=today_bookings[-1].token, ip=None)
