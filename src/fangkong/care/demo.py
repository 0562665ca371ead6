"""The care part of the demo story: two designated hospitals and a cabin hospital, the outbreak's
cases in beds of the type their class and severity need, one patient worsening into the ICU, and
the first patients discharged into post-discharge health monitoring.

It uses the cases the tracing step created; on a database without any it reports a handful itself
from the testing round's positives (or the first residents of the demo district). Everything goes
through the care services as the system (actor None); the draw is fixed by the seed.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.models import Person
from fangkong.tracing.models import Case, Classification, FoundBy, Severity

from . import services
from .models import Admission, Bed, Facility

FACILITIES = [
    # code, name, kind, where, ICU beds, ward beds, cabin beds
    ("YY-DD-01", "南京市第二医院（汤山院区）定点医院", "designated", Level.DISTRICT, 20, 180, 0),
    ("YY-DD-02", "南京鼓楼医院江北国际医院", "designated", Level.CITY, 12, 120, 0),
    ("YY-FC-01", "南京国际博览中心方舱医院", "fangcang", Level.DISTRICT, 0, 0, 600),
]
OWN_CASES = 14


STAY_DAYS = 14


def care_demo(stdout, seed: int) -> None:
    if Facility.objects.filter(code=FACILITIES[0][0]).exists():
        stdout.write("医疗救治: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    rng = np.random.default_rng(seed + 11)
    nodes = demo_nodes()
    now = timezone.now()
    with transaction.atomic():
        facilities = [
            services.facility_create(
                actor=None,
                code=code,
                name=name,
                kind=kind,
                jurisdiction=nodes[level],
                icu_beds=icu,
                general_beds=general,
                fangcang_beds=cabin,
            )
            for code, name, kind, level, icu, general, cabin in FACILITIES
        ]
        created = 0 if Case.objects.exists() else _own_cases(nodes[Level.DISTRICT], rng, now)
        # The cases of the last two weeks are in hospital (older ones were discharged before
        # the story starts): each admitted when its case record says, or within hours of its
        # report, so the case page and the bed board tell the same time.
        cases = list(
            Case.objects.exclude(classification=Classification.EXCLUDED)
            .filter(reported_at__gte=now - dt.timedelta(days=STAY_DAYS))
            .select_related("person")
            .order_by("reported_at", "id")[:400]
        )
        admitted = []
        for case in cases:
            at = case.admitted_at or case.reported_at + dt.timedelta(hours=int(rng.integers(1, 6)))
            try:
                admitted.append(services.admission_create(actor=None, case=case, at=min(at, now)))
            except services.CareError:
                continue  # no bed of the type left: the board shows the shortage
        worse = [a for a in admitted if a.bed.bed_type == "general"][:2]
        if worse:
            services.admission_severity_change(
                actor=None,
                admission=worse[0],
                severity=Severity.CRITICAL,
                note="SpO₂ 88%，转入 ICU",
            )
        if len(worse) > 1:
            services.admission_severity_change(
                actor=None, admission=worse[1], severity=Severity.SEVERE, note="呼吸频率 32 次/分"
            )
        # The longest-staying mild patients have two negative tests a day apart: discharged.
        discharged = 0
        for admission in sorted(
            (a for a in admitted if a.bed.bed_type == "fangcang"), key=lambda a: a.admitted_at
        )[:3]:
            if admission.admitted_at > now - dt.timedelta(days=3):
                continue
            for hours in (40, 14):
                services.discharge_test_record(
                    actor=None,
                    admission=admission,
                    sampled_at=now - dt.timedelta(hours=hours),
                    result="negative",
                )
            services.admission_discharge(actor=None, admission=admission)
            discharged += 1
        # Two beds of the cabin hospital are under repair.
        for bed in Bed.objects.filter(facility=facilities[2], state=Bed.State.VACANT).order_by(
            "-number"
        )[:2]:
            services.bed_state_set(actor=None, bed=bed, state=Bed.State.OUT_OF_SERVICE)
    in_hospital = Admission.objects.filter(status=Admission.Status.ADMITTED).count()
    beds = Bed.objects.count()
    stdout.write(
        f"医疗救治: {len(facilities)} 家医院 {beds} 张床位, 在院 {in_hospital} 人, "
        f"出院 {discharged} 人{f', 新建演示病例 {created} 例' if created else ''} "
        f"({time.perf_counter() - began:.1f} s)"
    )


def _own_cases(district, rng, now) -> int:
    """A handful of cases when the tracing step made none: the testing round's positives first."""
    people: list[Person] = []
    try:
        from fangkong.testing.models import PositiveFinding

        people = [
            f.person
            for f in PositiveFinding.objects.filter(person__jpath__startswith=district.path)
            .select_related("person")
            .order_by("person_id")[:OWN_CASES]
        ]
    except ImportError:
        pass
    if len(people) < OWN_CASES:
        people += list(
            Person.objects.filter(jpath__startswith=district.path)
            .exclude(pk__in=[p.pk for p in people])
            .order_by("jpath", "pk")[: OWN_CASES - len(people)]
        )
    mix = [
        (Classification.CONFIRMED, Severity.MILD),
        (Classification.CONFIRMED, Severity.MODERATE),
        (Classification.ASYMPTOMATIC, ""),
        (Classification.CONFIRMED, Severity.MILD),
        (Classification.ASYMPTOMATIC, ""),
        (Classification.CONFIRMED, Severity.MODERATE),
        (Classification.SUSPECTED, ""),
    ]
    cases = []
    for index, person in enumerate(people):
        classification, severity = mix[index % len(mix)]
        reported = now - dt.timedelta(days=int(7 - index // 2), hours=int(rng.integers(0, 12)))
        cases.append(
            Case(
                person=person,
                jpath=person.jpath,
                code=f"NJ-DEMO-{index + 1:03d}",
                classification=classification,
                severity=severity,
                found_by=FoundBy.POOL_SCREENING,
                reported_at=reported,
                report_date=timezone.localdate(reported),
            )
        )
    Case.objects.bulk_create(cases)
    return len(cases)
