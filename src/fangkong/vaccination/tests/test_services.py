"""Recording doses one by one, the coverage counters they keep, and the AEFI follow-up flow."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.audit.models import AuditEntry
from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.vaccination import coverage, services
from fangkong.vaccination.models import Aefi, Dose, GridCoverage, Product


def product(code: str) -> Product:
    return Product.objects.get(code=code)


def give(person, code, site, days_ago, lot="L1", actor=None):
    return services.dose_record(
        actor=actor,
        person=person,
        product=product(code),
        lot=lot,
        site=site,
        given_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_products_ship_as_data(db):
    assert {p.code: p.primary_doses for p in Product.objects.all()} == {
        "AD5NCOV": 1,
        "BBIBP": 2,
        "CORONAVAC": 2,
        "SYS6006": 2,
        "WIBP": 2,
        "ZF2001": 3,
    }
    bbibp = product("BBIBP")
    assert (bbibp.interval_min_days, bbibp.interval_max_days, bbibp.booster_after_days) == (
        21,
        56,
        180,
    )
    assert product("ZF2001").kind == "recombinant" and product("SYS6006").kind == "mrna"


def test_dose_numbers_follow_the_schedule(city, make_user):
    person = city["people"]["grid_a"][1]
    vaccinator = make_user(role="vaccinator", node="district")
    first = give(person, "BBIBP", city["site_a"], 400, actor=vaccinator)
    assert first.dose_number == 1 and first.recorded_by == vaccinator
    with pytest.raises(errors.Invalid) as early:
        give(person, "CORONAVAC", city["site_a"], 390)  # 10 days later: too early
    assert early.value.code == "too_early"
    with pytest.raises(errors.Invalid) as mixed:
        give(person, "ZF2001", city["site_a"], 370)
    assert mixed.value.code == "course_product_mismatch"
    assert give(person, "CORONAVAC", city["site_a"], 370).dose_number == 2  # same kind
    with pytest.raises(errors.Invalid) as soon:
        give(person, "ZF2001", city["site_a"], 300)  # 70 days after the course: booster at 180
    assert soon.value.code == "too_early"
    booster = give(person, "ZF2001", city["site_a"], 100)  # heterologous booster
    assert booster.dose_number == 3
    with pytest.raises(errors.Conflict) as done:
        give(person, "BBIBP", city["site_a"], 0)  # 30 years old: no second booster
    assert done.value.code == "course_complete"
    assert list(Dose.objects.filter(person=person).values_list("dose_number", flat=True)) == [
        1,
        2,
        3,
    ]
    assert AuditEntry.objects.filter(object_type="vaccination.dose").count() == 3


def test_refusals(city, make_user):
    toddler = city["people"]["grid_a"][5]
    with pytest.raises(errors.Invalid) as young:
        give(toddler, "BBIBP", city["site_a"], 0)
    assert young.value.code == "too_young"
    grid_worker = make_user(role="grid_worker")
    with pytest.raises(errors.Forbidden):
        give(city["people"]["grid_a"][1], "BBIBP", city["site_a"], 0, actor=grid_worker)
    other = make_user(role="vaccinator", node="district2")
    with pytest.raises(errors.NotFound):  # a site of another district
        give(city["people"]["grid_a"][1], "BBIBP", city["site_a"], 0, actor=other)
    with pytest.raises(errors.Invalid) as lot:
        give(city["people"]["grid_a"][1], "BBIBP", city["site_a"], 0, lot=" ")
    assert lot.value.code == "lot_invalid"


def _row(grid, band):
    return GridCoverage.objects.values("population", "first", "full", "booster", "booster2").get(
        grid=grid, band=band
    )


def test_coverage_arithmetic_by_band(city):
    """Grid A: 8, 30, 45, 65, 85 and 2 years old; the counters kept by each recorded dose agree
    with a full rebuild, and the read gives rates over those aged 3 and over."""
    a = city["people"]["grid_a"]
    site = city["site_a"]
    coverage.refresh()
    assert _row(city["grid_a"], 2) == {
        "population": 2,
        "first": 0,
        "full": 0,
        "booster": 0,
        "booster2": 0,
    }
    give(a[1], "BBIBP", site, 400)  # 30: full course + booster
    give(a[1], "BBIBP", site, 370)
    give(a[1], "BBIBP", site, 100)
    give(a[2], "ZF2001", site, 400)  # 45: 2 of 3 doses of ZF2001: first only
    give(a[2], "ZF2001", site, 370)
    give(a[3], "AD5NCOV", site, 400)  # 65: one dose of Ad5 is the full course
    give(a[4], "CORONAVAC", site, 600)  # 85: course, booster, second booster
    give(a[4], "CORONAVAC", site, 570)
    give(a[4], "BBIBP", site, 380)
    give(a[4], "BBIBP", site, 100)
    kept = {band: _row(city["grid_a"], band) for band in (0, 2, 3, 5, 6)}
    assert kept[2] == {"population": 2, "first": 2, "full": 1, "booster": 1, "booster2": 0}
    assert kept[3] == {"population": 1, "first": 1, "full": 1, "booster": 0, "booster2": 0}
    assert kept[5] == {"population": 1, "first": 1, "full": 1, "booster": 1, "booster2": 1}
    assert kept[0]["first"] == 0 and kept[6]["population"] == 1
    coverage.refresh()
    assert {band: _row(city["grid_a"], band) for band in (0, 2, 3, 5, 6)} == kept
    data = coverage.read(path=city["grid_a"].path)
    # Aged 3+: 5 people (the toddler not counted); first 4, full 3, booster 2.
    assert {k: data["total"][k] for k in ("population", "first", "full", "booster")} == {
        "population": 5,
        "first": 4,
        "full": 3,
        "booster": 2,
    }
    assert (data["total"]["first_pct"], data["total"]["full_pct"]) == (80.0, 60.0)
    assert data["registered"] == 6
    assert data["elderly"]["aged_60_plus"]["population"] == 2
    assert data["elderly"]["aged_60_plus"]["full_pct"] == 100.0
    assert data["elderly"]["aged_80_plus"]["booster2"] == 1
    city_data = coverage.read(path=city["city"].path, node=city["city"])
    # The city: 9 aged 3+ (grids B and C unvaccinated); its children are the two districts.
    assert city_data["total"]["population"] == 9 and city_data["total"]["first"] == 4
    assert [(c["code"], c["population"], c["first"]) for c in city_data["children"]] == [
        ("320102", 7, 4),
        ("320104", 2, 0),
    ]


def test_aefi_report_and_follow_up(city, make_user):
    person = city["people"]["grid_a"][1]
    dose = give(person, "BBIBP", city["site_a"], 3)
    vaccinator = make_user(role="vaccinator", node="district")
    aefi = services.aefi_report(
        actor=vaccinator,
        dose=dose,
        onset_at=dose.given_at + dt.timedelta(hours=6),
        symptoms="过敏性休克",
        severity="serious",
    )
    assert aefi.status == "reported" and aefi.jpath == person.jpath
    assert Alert.objects.filter(kind="vaccination_aefi_serious").count() == 1
    with pytest.raises(errors.Invalid) as before:
        services.aefi_report(
            actor=vaccinator,
            dose=dose,
            onset_at=dose.given_at - dt.timedelta(hours=1),
            symptoms="x",
            severity="common",
        )
    assert before.value.code == "onset_before_dose"
    services.aefi_follow_up(actor=vaccinator, aefi=aefi, status="investigating", note="入院观察")
    services.aefi_follow_up(actor=vaccinator, aefi=aefi, status="recovered", note="已康复")
    with pytest.raises(errors.Conflict) as back:
        services.aefi_follow_up(actor=vaccinator, aefi=aefi, status="investigating", note="x")
    assert back.value.code == "aefi_state"
    services.aefi_follow_up(actor=vaccinator, aefi=aefi, status="closed", note="结案")
    aefi.refresh_from_db()
    assert aefi.status == "closed"
    assert list(aefi.follow_ups.values_list("status", flat=True)) == [
        "reported",
        "investigating",
        "recovered",
        "closed",
    ]
    other = make_user(role="vaccinator", node="district2")
    with pytest.raises(errors.NotFound):
        services.aefi_follow_up(actor=other, aefi=aefi, status="closed", note="x")
    assert Aefi.objects.count() == 1
