"""Hospitals and beds, admission by class and severity, severity changes, transfers, discharge."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fangkong.audit.models import AuditEntry
from fangkong.care import selectors, services
from fangkong.care.models import Bed, SeverityChange, Unit
from fangkong.common.models import Alert
from fangkong.control.models import ControlOrder
from fangkong.control.tests.factories import make_site, open_order

from .factories import make_case, make_fangcang, make_hospital


def test_facility_units_of_twenty_and_limits(tree):
    cabin = make_fangcang(tree["district"], beds=210)
    units = list(Unit.objects.filter(facility=cabin).order_by("number"))
    assert len(units) == 11
    assert units[0].beds.count() == 20 and units[-1].beds.count() == 10
    assert str(units[0]) == "Nursing unit 1"
    assert sorted(Bed.objects.filter(unit=units[-1]).values_list("number", flat=True))[:2] == [
        "U11-01",
        "U11-02",
    ]
    with pytest.raises(services.CareError) as refused:
        make_fangcang(tree["district"], code="F2", beds=199)
    assert refused.value.code == "cabin_bed_count"
    with pytest.raises(services.CareError) as refused:
        make_fangcang(tree["district"], code="F3", beds=3001)
    assert refused.value.code == "cabin_bed_count"
    make_fangcang(tree["district"], code="F4", beds=3000)
    hospital = make_hospital(tree["district"], icu=25, general=40)
    assert {(u.bed_type, u.number) for u in hospital.units.all()} == {
        ("icu", 1),
        ("icu", 2),
        ("general", 1),
        ("general", 2),
    }


@pytest.mark.parametrize(
    "classification, severity, bed_type",
    [
        ("confirmed", "critical", "icu"),
        ("confirmed", "severe", "general"),
        ("confirmed", "moderate", "general"),
        ("confirmed", "mild", "fangcang"),
        ("asymptomatic", "", "fangcang"),
        ("suspected", "", "general"),
    ],
)
def test_bed_type_by_class_and_severity(classification, severity, bed_type):
    assert services.bed_type_for(classification, severity) == bed_type


def test_excluded_is_not_admitted():
    with pytest.raises(services.CareError) as refused:
        services.bed_type_for("excluded", "")
    assert refused.value.code == "case_excluded"


def test_admission_picks_nearest_bed_of_the_type_and_sets_admitted_at(tree, people):
    far = make_hospital(tree["district2"], code="FAR", icu=1, general=1)
    near = make_hospital(tree["district"], code="NEAR", icu=1, general=1)
    cabin = make_fangcang(tree["district2"], code="CAB")
    critical = make_case(people["a"][0], severity="critical")
    admission = services.admission_create(actor=None, case=critical)
    assert (admission.facility, admission.bed.bed_type, admission.bed.number) == (
        near,
        "icu",
        "ICU1-01",
    )
    critical.refresh_from_db()
    assert critical.admitted_at == admission.admitted_at
    second = services.admission_create(
        actor=None, case=make_case(people["a"][1], severity="critical")
    )
    assert second.facility == far  # the district's ICU is full: the rest of the city
    with pytest.raises(services.NoBed) as refused:
        services.admission_create(actor=None, case=make_case(people["a"][2], severity="critical"))
    assert refused.value.code == "no_bed"
    mild = services.admission_create(actor=None, case=make_case(people["b"][0], "asymptomatic", ""))
    assert mild.facility == cabin and mild.bed.bed_type == "fangcang"
    with pytest.raises(services.Conflict) as refused:
        services.admission_create(actor=None, case=critical)
    assert refused.value.code == "already_admitted"
    assert Bed.objects.filter(state="occupied").count() == 3
    assert AuditEntry.objects.filter(object_type="care.admission", action="create").count() == 3


def test_admission_ends_the_control_order_and_frees_the_room(tree, people):
    make_hospital(tree["district"])
    make_site(tree["district"], rooms=1)
    person = people["a"][0]
    order = open_order(person)
    from fangkong.control import services as control

    room = control.room_assign(actor=None, order=order)
    services.admission_create(actor=None, case=make_case(person))
    order.refresh_from_db()
    room.refresh_from_db()
    assert order.status == "cancelled" and order.room is None
    assert room.state == "cleaning"
    assert "Admitted to hospital" in order.reason


def test_severity_change_history_case_update_and_move_to_icu(tree, people):
    hospital = make_hospital(tree["district"], icu=1, general=2)
    case = make_case(people["a"][0], severity="moderate")
    admission = services.admission_create(actor=None, case=case)
    ward_bed = admission.bed
    admission = services.admission_severity_change(
        actor=None, admission=admission, severity="critical", note="SpO2 88%"
    )
    case.refresh_from_db()
    assert case.severity == "critical"
    assert admission.bed.bed_type == "icu" and admission.facility == hospital
    ward_bed.refresh_from_db()
    assert ward_bed.state == "cleaning"
    change = SeverityChange.objects.get()
    assert (change.before, change.after, change.note) == ("moderate", "critical", "SpO2 88%")
    # Another critical case finds the ICU full: it stays in its ward bed and HQ is alerted.
    other = services.admission_create(actor=None, case=make_case(people["a"][1]))
    other = services.admission_severity_change(actor=None, admission=other, severity="critical")
    assert other.bed.bed_type == "general"
    alert = Alert.objects.get(kind="care_bed_needed")
    assert alert.level == "critical" and alert.jurisdiction_path == hospital.jpath
    with pytest.raises(services.CareError) as refused:
        services.admission_severity_change(actor=None, admission=other, severity="critical")
    assert refused.value.code == "severity_unchanged"


def test_transfer_between_hospitals(tree, people):
    first = make_hospital(tree["district"], code="H1")
    second = make_hospital(tree["district2"], code="H2")
    admission = services.admission_create(
        actor=None, case=make_case(people["a"][0]), facility=first
    )
    old_bed = admission.bed
    new = services.admission_transfer(actor=None, admission=admission, facility=second)
    admission.refresh_from_db()
    old_bed.refresh_from_db()
    assert admission.status == "transferred" and admission.ended_at == new.admitted_at
    assert new.previous == admission and new.facility == second and new.status == "admitted"
    assert old_bed.state == "cleaning"
    with pytest.raises(services.CareError) as refused:
        services.admission_transfer(actor=None, admission=admission, facility=second)
    assert refused.value.code == "not_admitted"
    with pytest.raises(services.CareError) as refused:
        services.admission_transfer(actor=None, admission=new, facility=second)
    assert refused.value.code == "same_hospital"


def _rule(*tests):
    base = timezone.now() - timedelta(days=5)
    return services.discharge_blockers(
        [
            (base + offset, result, None if ct is None else Decimal(ct))
            for offset, result, ct in tests
        ]
    )


H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_discharge_rule_24_hours_boundary():
    assert _rule((0 * H, "negative", None), (24 * H, "negative", None)) == []
    assert _rule((0 * H, "negative", None), (23 * H + 59 * M, "negative", None)) == [
        "The two qualifying tests must be sampled at least 24 hours apart."
    ]
    # Three in a row: the first and the last are 24 h apart.
    assert (
        _rule((0 * H, "negative", None), (12 * H, "negative", None), (24 * H, "negative", None))
        == []
    )


def test_discharge_rule_ct_boundary():
    assert _rule((0 * H, "positive", "35.0"), (24 * H, "positive", "35.0")) == []
    assert _rule((0 * H, "positive", "34.9"), (24 * H, "negative", None)) == [
        "Two tests in a row, each negative or with Ct ≥ 35, are needed (1 so far)."
    ]
    # A positive test in between starts the count again.
    assert _rule(
        (0 * H, "negative", None), (24 * H, "positive", "30"), (48 * H, "negative", None)
    ) == ["Two tests in a row, each negative or with Ct ≥ 35, are needed (1 so far)."]
    assert _rule() == ["Two tests in a row, each negative or with Ct ≥ 35, are needed (0 so far)."]


def test_discharge_frees_the_bed_and_starts_monitoring(tree, people):
    make_hospital(tree["district"])
    case = make_case(people["a"][0])
    admission = services.admission_create(actor=None, case=case)
    now = timezone.now()
    services.discharge_test_record(
        actor=None, admission=admission, sampled_at=now - 30 * H, result="negative"
    )
    services.discharge_test_record(
        actor=None, admission=admission, sampled_at=now - 6 * H - M, result="positive", ct="36.2"
    )
    with pytest.raises(services.CareError) as refused:
        services.admission_discharge(actor=None, admission=admission)
    assert refused.value.code == "discharge_not_met"
    services.discharge_test_record(
        actor=None, admission=admission, sampled_at=now - 6 * H, result="positive", ct="35"
    )
    admission = services.admission_discharge(actor=None, admission=admission)
    assert admission.status == "discharged"
    admission.bed.refresh_from_db()
    assert admission.bed.state == "cleaning"
    order = ControlOrder.objects.get(person=case.person, status="open")
    assert order.category == "released" and order.measure == "home_monitoring"
    assert admission.released_order == order
    # Plan ed. 9: 7 days of home health monitoring after discharge, tests on days 3 and 7.
    assert (order.end_date - order.start_date).days == 6
    assert order.policy.code == "plan-ed9"
    assert sorted(order.tests.values_list("scheduled_date", flat=True)) == [
        order.start_date + timedelta(days=2),
        order.start_date + timedelta(days=6),
    ]
    with pytest.raises(services.CareError) as refused:
        services.discharge_test_record(
            actor=None, admission=admission, sampled_at=now, result="negative", ct="50"
        )
    assert refused.value.code == "ct_out_of_range"


def test_bed_state_cycle(tree, people):
    hospital = make_hospital(tree["district"], icu=0, general=1)
    admission = services.admission_create(actor=None, case=make_case(people["a"][0]))
    with pytest.raises(services.CareError) as refused:
        services.bed_state_set(actor=None, bed=admission.bed, state="vacant")
    assert refused.value.code == "bed_state_refused"
    now = timezone.now()
    for hours in (30, 5):
        services.discharge_test_record(
            actor=None, admission=admission, sampled_at=now - hours * H, result="negative"
        )
    services.admission_discharge(actor=None, admission=admission)
    bed = Bed.objects.get(facility=hospital)
    services.bed_state_set(actor=None, bed=bed, state="vacant")
    assert Bed.objects.get(pk=bed.pk).state == "vacant"


def test_occupancy_by_type_facility_and_total(tree, people, make_user):
    h1 = make_hospital(tree["district"], code="H1", icu=2, general=4)
    cabin = make_fangcang(tree["district2"], code="F1", beds=200)
    services.admission_create(actor=None, case=make_case(people["a"][0], severity="critical"))
    services.admission_create(actor=None, case=make_case(people["a"][1], severity="moderate"))
    services.admission_create(actor=None, case=make_case(people["a"][2], severity="severe"))
    services.admission_create(actor=None, case=make_case(people["b"][0], "asymptomatic", ""))
    bed = Bed.objects.filter(facility=cabin, state="vacant").first()
    services.bed_state_set(actor=None, bed=bed, state="out_of_service")
    data = selectors.bed_occupancy(actor=make_user(role="commander", node="city"))
    rows = {r["facility"].code: r for r in data["facilities"]}
    assert rows["H1"]["types"]["icu"] | {} == {
        "vacant": 1,
        "occupied": 1,
        "cleaning": 0,
        "out_of_service": 0,
        "total": 2,
        "rate": 50.0,
    }
    assert rows["H1"]["types"]["general"]["occupied"] == 2
    assert (rows["H1"]["occupied"], rows["H1"]["total"], rows["H1"]["rate"]) == (3, 6, 50.0)
    assert (rows["F1"]["occupied"], rows["F1"]["out_of_service"], rows["F1"]["rate"]) == (1, 1, 0.5)
    total = data["total"]
    assert (total["total"], total["occupied"], total["vacant"]) == (206, 4, 201)
    assert total["types"]["fangcang"]["total"] == 200
    district = selectors.bed_occupancy(actor=make_user(role="hospital_staff", node="district"))
    assert [r["facility"].code for r in district["facilities"]] == ["H1"]
    assert district["total"]["total"] == 6
    assert h1.pk
