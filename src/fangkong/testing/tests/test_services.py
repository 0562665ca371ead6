"""Services: scanning rules and races, boxes and receipt, results, planning, frequency, turnaround."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from fangkong.common import events
from fangkong.common.models import Alert
from fangkong.testing import services
from fangkong.testing.models import Recheck, RotationSlot, Sample, TemporaryControl, Tube
from fangkong.testing.services import Conflict, frequency_next, plan_numbers, turnaround_state

from .factories import LabFactory, SiteFactory, make_round

D = dt.date


@pytest.fixture
def setup(tree, people, make_user):
    round_ = make_round("R1", tree["city"], pool_size=3)
    site = SiteFactory(jurisdiction=tree["grid_a"])
    lab = LabFactory(jurisdiction=tree["city"])
    return {
        "round": round_,
        "site": site,
        "lab": lab,
        "sampler": make_user(role="sampler"),
        **people,
    }


def scan(s, barcode, person, **kw):
    return services.tube_scan(
        actor=s["sampler"],
        round_=s["round"],
        barcode=barcode,
        site=s["site"],
        code=person.document_number,
        **kw,
    )


def test_scan_registers_tube_and_is_idempotent(setup):
    first = scan(setup, "T1", setup["a"][0])
    again = scan(setup, "T1", setup["a"][0])
    assert (first.tube_created, first.added, again.tube_created, again.added) == (
        True,
        True,
        False,
        False,
    )
    tube = Tube.objects.get(barcode="T1")
    assert (tube.members, tube.status, tube.capacity, tube.jpath) == (
        1,
        "open",
        3,
        setup["site"].jpath,
    )
    assert Sample.objects.filter(tube=tube, tube_open=True).count() == 1


def test_person_in_one_open_tube_and_pool_size(setup):
    a = setup["a"]
    scan(setup, "T1", a[0])
    with pytest.raises(Conflict) as refused:
        scan(setup, "T2", a[0])
    assert refused.value.code == "in_another_tube"
    scan(setup, "T1", a[1])
    scan(setup, "T1", a[2])
    with pytest.raises(Conflict) as refused:
        scan(setup, "T1", setup["b"][0])
    assert refused.value.code == "tube_full"
    services.tube_close(actor=setup["sampler"], tube=Tube.objects.get(barcode="T1"))
    with pytest.raises(Conflict) as refused:
        scan(setup, "T1", setup["b"][0])
    assert refused.value.code == "tube_closed"
    # Once the first tube is closed the person may be swabbed again (a re-sample).
    assert scan(setup, "T2", a[0]).added is True


def test_health_code_payload_and_unknown_person(setup):
    person = setup["a"][0]
    result = services.tube_scan(
        actor=None,
        round_=setup["round"],
        barcode="T9",
        site=setup["site"],
        code=f"HC|{person.document_number.lower()}",
    )
    assert result.person == person
    with pytest.raises(services.TestingError) as refused:
        services.tube_scan(
            actor=None, round_=setup["round"], barcode="T9", site=setup["site"], code="123"
        )
    assert refused.value.code == "unknown_person"


def test_goods_tube(setup):
    result = services.tube_scan(
        actor=None,
        round_=setup["round"],
        barcode="G1",
        site=setup["site"],
        subject=Tube.Subject.GOODS,
        subject_label="冷链 batch 42",
    )
    assert (result.tube.subject, result.tube.subject_label) == ("goods", "冷链 batch 42")


def test_box_transport_receipt_and_result(setup, make_user):
    a = setup["a"]
    for person in a:
        scan(setup, "T1", person)
    tube = services.tube_close(actor=None, tube=Tube.objects.get(barcode="T1"))
    box = services.box_create(actor=None, code="BOX1", site=setup["site"], lab=setup["lab"])
    assert services.box_add_tubes(actor=None, box=box, tubes=[tube]) == 1
    services.box_hand_over(actor=None, box=box)
    assert services.box_receive(actor=None, box=box, lab=setup["lab"]) == 1
    tube.refresh_from_db()
    assert tube.status == "received" and tube.boxed_at and tube.handed_over_at and tube.received_at
    seen = []
    events.subscribe("testing.pool_positive", lambda **kw: seen.append(kw))
    try:
        outcome = services.result_record(
            actor=None,
            tube=tube,
            result="positive",
            lab=setup["lab"],
            ct_orf1ab=Decimal("31.2"),
            ct_n=Decimal("33.0"),
        )
    finally:
        events._subscribers["testing.pool_positive"].clear()
    assert (
        outcome["positive_pools"],
        outcome["controls"],
        outcome["rechecks"],
        outcome["alerts"],
    ) == (1, 3, 3, 1)
    assert seen[0]["barcode"] == "T1" and sorted(seen[0]["person_ids"]) == sorted(p.pk for p in a)
    assert Alert.objects.get().jurisdiction_path == setup["a"][0].jpath
    # The same result again is harmless; another one is refused.
    assert (
        services.result_record(actor=None, tube=tube, result="positive", lab=setup["lab"])[
            "changed"
        ]
        is False
    )
    with pytest.raises(Conflict):
        services.result_record(actor=None, tube=tube, result="negative", lab=setup["lab"])
    # Re-check by home visit: pending -> sampled -> resulted.
    item = Recheck.objects.get(person=a[0])
    assert item.status == "pending"
    rc = services.tube_scan(
        actor=None,
        round_=setup["round"],
        barcode="RC1",
        site=setup["site"],
        code=a[0].document_number,
        kind=Tube.Kind.RECHECK,
    )
    item.refresh_from_db()
    assert (item.status, item.recheck_tube_id, rc.tube.capacity) == ("sampled", rc.tube.pk, 1)
    services.tube_close(actor=None, tube=rc.tube)
    services.result_record(actor=None, tube=rc.tube, result="negative", lab=setup["lab"])
    item.refresh_from_db()
    assert (item.status, item.result) == ("resulted", "negative")
    assert TemporaryControl.objects.get(person=a[0]).released_at is not None


def test_alerts_one_per_grid_of_a_mixed_pool(setup):
    scan(setup, "T1", setup["a"][0])
    scan(setup, "T1", setup["b"][0])
    tube = services.tube_close(actor=None, tube=Tube.objects.get(barcode="T1"))
    services.result_record(actor=None, tube=tube, result="positive", lab=setup["lab"])
    assert sorted(Alert.objects.values_list("jurisdiction_path", flat=True)) == sorted(
        [setup["a"][0].jpath, setup["b"][0].jpath]
    )


@pytest.mark.django_db(transaction=True)
def test_two_scanners_register_one_tube_at_once(tree, people):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers with one database lock; the race needs PostgreSQL")
    round_ = make_round("RACE", tree["city"], pool_size=10)
    site = SiteFactory(jurisdiction=tree["grid_a"])
    persons = people["a"] + people["b"]
    barrier = threading.Barrier(len(persons))
    errors = []

    def worker(person):
        try:
            barrier.wait()
            services.tube_scan(
                actor=None, round_=round_, barcode="SAME", site=site, code=person.document_number
            )
            services.tube_scan(
                actor=None, round_=round_, barcode="SAME", site=site, code=person.document_number
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(p,)) for p in persons]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tube = Tube.objects.get(barcode="SAME")
    assert tube.members == len(persons) == Sample.objects.filter(tube=tube).count()


@pytest.mark.django_db(transaction=True)
def test_one_person_raced_into_two_open_tubes(tree, people):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers with one database lock; the race needs PostgreSQL")
    round_ = make_round("RACE2", tree["city"], pool_size=10)
    site = SiteFactory(jurisdiction=tree["grid_a"])
    person = people["a"][0]
    barrier = threading.Barrier(2)
    outcomes = []

    def worker(barcode):
        try:
            barrier.wait()
            services.tube_scan(
                actor=None, round_=round_, barcode=barcode, site=site, code=person.document_number
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(b,)) for b in ("X1", "X2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert Sample.objects.filter(person=person, tube_open=True).count() == 1


def test_plan_numbers():
    # At prevalence 0 no pool is positive: the lab load is the tubes, as before the re-test budget.
    assert plan_numbers(10_000_000) == {
        "points_min": 3334,
        "points_max": 5000,
        "desks_min": 12500,
        "desks_max": 16667,
        "samplers": 27778,
        "tubes": 1_000_000,
        "retests": 0,
        "tests": 1_000_000,
        "lab_per_day": 1_000_000,
        "prevalence": 0.0,
        "tests_per_person": 0.1,
        "recommended_pool_size": 20,
        "recommended_tests_per_person": 0.05,
    }
    assert plan_numbers(7200, hours=12, pool_size=20) == {
        "points_min": 3,
        "points_max": 4,
        "desks_min": 9,
        "desks_max": 12,
        "samplers": 40,
        "tubes": 360,
        "retests": 0,
        "tests": 360,
        "lab_per_day": 720,
        "prevalence": 0.0,
        "tests_per_person": 0.05,
        "recommended_pool_size": 20,
        "recommended_tests_per_person": 0.05,
    }


@pytest.mark.parametrize(
    ("prevalence", "per_person", "short_by_percent"),
    [(0.0001, 0.1010, 1), (0.001, 0.1100, 10), (0.01, 0.1956, 96), (0.05, 0.5013, 401)],
)
def test_dorfman_budget_at_10_to_1_against_the_national_figures(
    prevalence, per_person, short_by_percent
):
    assert round(services.dorfman_tests_per_person(prevalence, 10), 4) == per_person
    plan = plan_numbers(1_000_000, pool_size=10, prevalence=prevalence)
    assert plan["tubes"] == 100_000
    assert plan["tests"] == plan["tubes"] + plan["retests"]
    assert plan["tests_per_person"] == per_person
    # A plan of tubes alone is short by this much of the expected tests.
    assert round((plan["tests"] - plan["tubes"]) / plan["tubes"] * 100) == short_by_percent
    assert plan["lab_per_day"] == plan["tests"]


def test_dorfman_retests_at_1_percent_and_a_12_hour_round():
    plan = plan_numbers(1_000_000, hours=12, pool_size=10, prevalence=0.01)
    # 1 − 0.99^10 = 0.0956179…: 95,618 people in positive pools, each re-tested once.
    assert (plan["tubes"], plan["retests"], plan["tests"]) == (100_000, 95_618, 195_618)
    assert plan["lab_per_day"] == 391_236


@pytest.mark.parametrize(
    ("prevalence", "best"),
    [
        (0.0, 20),
        (0.0001, 20),
        (0.001, 20),
        (0.005, 20),
        (0.007, 10),
        (0.02, 10),
        (0.03, 5),
        (0.05, 5),
    ],
)
def test_recommended_pool_size_minimises_expected_tests(prevalence, best):
    assert services.recommended_pool_size(prevalence) == best
    chosen = services.dorfman_tests_per_person(prevalence, best)
    assert all(
        chosen <= services.dorfman_tests_per_person(prevalence, k)
        for k in services.VALIDATED_POOL_SIZES
    )
    assert plan_numbers(5000, prevalence=prevalence)["recommended_pool_size"] == best


def test_single_tubes_need_no_retest():
    plan = plan_numbers(1200, pool_size=1, prevalence=0.05)
    assert (plan["tubes"], plan["retests"], plan["tests_per_person"]) == (1200, 0, 1.0)


@given(
    p=st.floats(min_value=0, max_value=1, allow_nan=False),
    q=st.floats(min_value=0, max_value=1, allow_nan=False),
    k=st.sampled_from([2, 3, 5, 8, 10, 16, 20]),
)
def test_dorfman_is_bounded_and_monotone_in_prevalence(p, q, k):
    low, high = sorted((p, q))
    value = services.dorfman_tests_per_person(low, k)
    assert 1 / k - 1e-12 <= value <= 1 + 1 / k + 1e-12
    assert value <= services.dorfman_tests_per_person(high, k) + 1e-12


def test_dorfman_refuses_impossible_inputs():
    with pytest.raises(ValueError):
        services.dorfman_tests_per_person(1.5, 10)
    with pytest.raises(ValueError):
        services.dorfman_tests_per_person(0.01, 0)


def test_plan_round_shortfall_per_district(setup, tree):
    SiteFactory(jurisdiction=tree["grid_b"], desks=3, samplers=5)  # district 320102 has 2 sites now
    rows = services.plan_round(node=tree["city"], pool_size=10)
    assert [(r.node.code, r.population) for r in rows] == [("320102", 5), ("320104", 1)]
    first = rows[0]
    assert (first.points_min, first.desks_min, first.samplers, first.tubes) == (1, 1, 1, 1)
    assert (first.have_points, first.have_desks, first.have_samplers, first.have_lab_per_day) == (
        2,
        5,
        9,
        0,
    )
    # No round yet: the default 0.1 % budgets one re-test (rounded up) beside the one tube.
    assert (first.prevalence, first.prevalence_source, first.retests) == (0.001, "default", 1)
    assert first.shortfall == {"points": 0, "desks": 0, "samplers": 0, "lab_per_day": 2}
    assert rows[1].shortfall == {"points": 1, "desks": 1, "samplers": 1, "lab_per_day": 2}


def test_plan_round_takes_the_prevalence_from_the_areas_last_rounds(setup, tree):
    from fangkong.testing.models import GridStat

    now = timezone.now()
    old, *recent = [make_round(f"R-PREV-{i}", tree["city"]) for i in range(4)]
    # The oldest round (left out: three rounds count) found many; the last three 2 in 1,000.
    GridStat.objects.create(
        round=old,
        grid=tree["grid_a"],
        path=tree["grid_a"].path,
        resulted=10,
        positive=9,
        refreshed_at=now,
    )
    for round_, positive in zip(recent, (1, 1, 0), strict=True):
        GridStat.objects.create(
            round=round_,
            grid=tree["grid_a"],
            path=tree["grid_a"].path,
            resulted=1000 // 3,
            positive=positive,
            refreshed_at=now,
        )
    district = "320102"
    rows = {r.node.code: r for r in services.plan_round(node=tree["city"], pool_size=10)}
    assert rows[district].prevalence_source == "rounds"
    assert rows[district].prevalence == pytest.approx(2 / 999)
    other = next(r for code, r in rows.items() if code != district)
    assert other.prevalence_source == "default"
    given_ = services.plan_round(node=tree["city"], prevalence=0.05)
    assert {r.prevalence_source for r in given_} == {"input"}
    assert {r.recommended_pool_size for r in given_} == {5}


@pytest.mark.parametrize(
    ("history", "last_case", "today", "expected"),
    [
        (
            [(D(2026, 11, 1), 2), (D(2026, 11, 2), 1), (D(2026, 11, 3), 4)],
            D(2026, 11, 3),
            D(2026, 11, 3),
            (D(2026, 11, 4), 1),
        ),
        (
            [(D(2026, 11, 1), 2), (D(2026, 11, 2), 0), (D(2026, 11, 3), 4)],
            D(2026, 11, 3),
            D(2026, 11, 3),
            (D(2026, 11, 5), 2),
        ),
        (
            [(D(2026, 11, 1), 1), (D(2026, 11, 6), 0)],
            D(2026, 11, 1),
            D(2026, 11, 7),
            (D(2026, 11, 8), 2),
        ),
        (
            [(D(2026, 10, 1), 1), (D(2026, 11, 6), 0)],
            D(2026, 10, 1),
            D(2026, 11, 7),
            (D(2026, 11, 11), 5),
        ),
        (
            [(D(2026, 10, 1), 1), (D(2026, 11, 6), 0)],
            D(2026, 10, 1),
            D(2026, 11, 20),
            (D(2026, 11, 20), 5),
        ),
        ([], None, D(2026, 11, 15), (D(2026, 11, 20), 5)),
        (
            [(D(2026, 11, 1), 1), (D(2026, 11, 3), 0), (D(2026, 11, 5), 0), (D(2026, 11, 7), 0)],
            D(2026, 11, 1),
            D(2026, 11, 7),
            (D(2026, 11, 10), 3),
        ),
        (
            [(D(2026, 11, 3), 0), (D(2026, 11, 5), 0), (D(2026, 11, 7), 0), (D(2026, 11, 10), 0)],
            D(2026, 11, 1),
            D(2026, 11, 10),
            (None, None),
        ),
    ],
)
def test_frequency_rule(history, last_case, today, expected):
    proposal = frequency_next(history=history, last_case_on=last_case, today=today)
    assert (proposal.next_on, proposal.interval_days) == expected


def test_turnaround_thresholds(setup, settings):
    now = timezone.now()
    tube = Tube(sampled_at=now - dt.timedelta(hours=5, minutes=59))
    assert turnaround_state(tube, now=now, warning_hours=6, breach_hours=12) == "ok"
    tube.sampled_at = now - dt.timedelta(hours=6)
    assert turnaround_state(tube, now=now, warning_hours=6, breach_hours=12) == "warning"
    tube.sampled_at = now - dt.timedelta(hours=12)
    assert turnaround_state(tube, now=now, warning_hours=6, breach_hours=12) == "breach"
    tube.reported_at = now
    assert turnaround_state(tube, now=now, warning_hours=6, breach_hours=12) == "ok"
    assert setup["round"].thresholds == (6, 12)
    settings.FANGKONG_TESTING_TURNAROUND = {"warning_hours": 4, "breach_hours": 8}
    assert setup["round"].thresholds == (4, 8)
    setup["round"].warning_hours = 3
    assert setup["round"].thresholds == (3, 8)


def test_rotation_balances_people_per_day(setup, tree):
    slots = services.rotation_plan(
        actor=None,
        round_=setup["round"],
        nodes=[tree["grid_a"], tree["grid_b"], tree["grid_c"]],
        first_day=D(2026, 11, 24),
        days=2,
    )
    assert [(s.jurisdiction.code, s.day) for s in slots] == [
        ("320102001001G01", D(2026, 11, 24)),
        ("320102001001G02", D(2026, 11, 25)),
        ("320104001001G01", D(2026, 11, 25)),
    ]
    assert RotationSlot.objects.count() == 3


def test_frequency_propose_from_rounds(setup, tree):
    proposal = services.frequency_propose(node=tree["grid_a"], today=D(2026, 11, 23))
    assert proposal.interval_days == 5
