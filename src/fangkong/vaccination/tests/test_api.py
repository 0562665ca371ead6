"""The vaccination API and pages: scope per endpoint, masking by role, the grid lists, coverage."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.audit.models import AuditEntry
from fangkong.vaccination import coverage, services
from fangkong.vaccination.models import Aefi, Dose, Product, Site


def _give(person, code, site, days_ago):
    return services.dose_record(
        actor=None,
        person=person,
        product=Product.objects.get(code=code),
        lot="L1",
        site=site,
        given_at=timezone.now() - dt.timedelta(days=days_ago),
    )


@pytest.fixture
def given(city):
    """Grid A: the 30-year-old has the full course (booster due), the 65-year-old one of two
    inactivated doses 100 days ago (overdue), the 85-year-old the full course and a booster
    (second booster due); the 8- and 45-year-olds nothing. Grid C's 40-year-old one dose."""
    a, site = city["people"]["grid_a"], city["site_a"]
    _give(a[1], "BBIBP", site, 400)
    _give(a[1], "BBIBP", site, 370)
    _give(a[3], "CORONAVAC", site, 100)
    _give(a[4], "BBIBP", site, 700)
    _give(a[4], "BBIBP", site, 670)
    _give(a[4], "BBIBP", site, 400)
    theirs = _give(city["people"]["grid_c"][0], "BBIBP", city["site_c"], 10)
    coverage.refresh()
    return {"theirs": theirs}


def test_coverage_endpoint_scope(given, city, make_user, client):
    client.force_login(make_user(role="hq_staff", node="district"))
    data = client.get("/api/v1/vaccination/coverage/").json()
    assert data["node"] == "320102"
    assert data["total"]["population"] == 7 and data["total"]["first"] == 3
    assert data["total"]["full"] == 2 and data["total"]["booster"] == 1
    assert data["elderly"]["aged_80_plus"] == {
        "population": 1,
        "first": 1,
        "full": 1,
        "booster": 1,
        "booster2": 0,
        "first_pct": 100.0,
        "full_pct": 100.0,
        "booster_pct": 100.0,
        "booster2_pct": 0.0,
    }
    assert [b["population"] for b in data["bands"]] == [1, 0, 3, 1, 1, 1]
    assert client.get("/api/v1/vaccination/coverage/?node=320104").status_code == 404
    grid = client.get("/api/v1/vaccination/coverage/?node=320102001001G01").json()
    assert grid["total"]["population"] == 5 and grid["children"] == []


def test_doses_scope_masking_and_queries(given, city, make_user, client):
    client.force_login(make_user(role="hq_staff", node="district"))
    with CaptureQueriesContext(connection) as ctx:
        data = client.get("/api/v1/vaccination/doses/").json()
    assert len(ctx.captured_queries) <= 6
    assert data["count"] == 6
    assert given["theirs"].pk not in [d["id"] for d in data["results"]]
    assert all(d["document_number"].count("*") == 16 for d in data["results"])
    assert client.get(f"/api/v1/vaccination/doses/{given['theirs'].pk}/").status_code == 404
    theirs = city["people"]["grid_c"][0].pk
    assert client.get(f"/api/v1/vaccination/doses/?person={theirs}").status_code == 404
    mine = city["people"]["grid_a"][4]
    rows = client.get(f"/api/v1/vaccination/doses/?person={mine.pk}").json()["results"]
    assert [r["dose_number"] for r in rows] == [1, 2, 3]
    # A role that may see personal data sees the number in full.
    client.force_login(make_user(role="epidemiologist", node="district"))
    rows = client.get(f"/api/v1/vaccination/doses/?person={mine.pk}").json()["results"]
    assert rows[0]["document_number"] == mine.document_number


def test_record_through_the_api(city, make_user, client):
    vaccinator = make_user(role="vaccinator", node="district")
    client.force_login(vaccinator)
    person = city["people"]["grid_b"][0]
    product = Product.objects.get(code="ZF2001")
    body = {
        "id_number": person.document_number,
        "product": product.pk,
        "lot": "ZF202201",
        "site": city["site_a"].pk,
    }
    made = client.post("/api/v1/vaccination/doses/", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["dose_number"] == 1
    again = client.post("/api/v1/vaccination/doses/", body, content_type="application/json")
    assert again.status_code == 400 and again.json()["code"] == "too_early"
    theirs = {**body, "site": city["site_c"].pk}
    assert (
        client.post(
            "/api/v1/vaccination/doses/", theirs, content_type="application/json"
        ).status_code
        == 404
    )
    outsider = {**body, "id_number": city["people"]["grid_c"][0].document_number}
    assert (
        client.post(
            "/api/v1/vaccination/doses/", outsider, content_type="application/json"
        ).status_code
        == 404
    )
    client.force_login(make_user(role="grid_worker"))
    assert (
        client.post("/api/v1/vaccination/doses/", body, content_type="application/json").status_code
        == 403
    )


def test_unvaccinated_list_masked_and_scoped(given, city, make_user, client):
    worker = make_user(role="grid_worker")  # grid A, may see personal data
    client.force_login(worker)
    data = client.get("/api/v1/vaccination/unvaccinated/").json()
    a = city["people"]["grid_a"]
    # The 45- and 8-year-olds, the oldest first; not the toddler.
    assert [r["id"] for r in data["results"]] == [a[2].pk, a[0].pk]
    assert data["results"][0]["document_number"] == a[2].document_number
    assert data["results"][0]["age"] == 45
    assert AuditEntry.objects.filter(
        action="view_pii", object_repr__contains="unvaccinated"
    ).exists()
    assert client.get("/api/v1/vaccination/unvaccinated/?grid=320102001001G02").status_code == 404
    client.force_login(make_user(role="hq_staff", node="district"))
    masked = client.get("/api/v1/vaccination/unvaccinated/?grid=320102001001G01").json()
    assert masked["results"][0]["document_number"].count("*") == 16
    assert masked["results"][0]["age"] is None and masked["results"][0]["age_band"] == "40-49"
    refused = client.get("/api/v1/vaccination/unvaccinated/")
    assert refused.status_code == 400 and refused.json()["code"] == "grid_required"
    assert client.get("/api/v1/vaccination/unvaccinated/?grid=320104001001G01").status_code == 404


def test_overdue_list_elderly_first(given, city, make_user, client):
    client.force_login(make_user(role="grid_worker"))
    rows = client.get("/api/v1/vaccination/overdue/").json()["results"]
    a = city["people"]["grid_a"]
    assert [(r["id"], r["kind"], r["next_dose"]) for r in rows] == [
        (a[4].pk, "second_booster", 4),  # 85: second booster, 400 days after the first
        (a[3].pk, "primary", 2),  # 65: dose 2 of CoronaVac, 44 days past the 8 weeks
        (a[1].pk, "booster", 3),  # 30: booster, due since 190 days
    ]
    assert rows[1]["days_overdue"] == 100 - 56
    assert rows[2]["days_overdue"] == 370 - 180
    assert rows[1]["product_code"] == "CORONAVAC"


def test_aefi_api_scope_and_flow(given, city, make_user, client):
    vaccinator = make_user(role="vaccinator", node="district")
    client.force_login(vaccinator)
    dose = Dose.objects.filter(person=city["people"]["grid_a"][1]).first()
    body = {
        "dose": dose.pk,
        "onset_at": (dose.given_at + dt.timedelta(hours=2)).isoformat(),
        "symptoms": "发热38.5℃",
        "severity": "common",
    }
    made = client.post("/api/v1/vaccination/aefi/", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["status"] == "reported"
    pk = made.json()["id"]
    step = client.post(
        f"/api/v1/vaccination/aefi/{pk}/follow-up/",
        {"status": "recovered", "note": "已退热"},
        content_type="application/json",
    )
    assert step.status_code == 200 and step.json()["status"] == "recovered"
    assert [f["status"] for f in step.json()["follow_ups"]] == ["reported", "recovered"]
    wrong = client.post(
        f"/api/v1/vaccination/aefi/{pk}/follow-up/",
        {"status": "investigating", "note": "x"},
        content_type="application/json",
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "aefi_state"
    theirs = {**body, "dose": given["theirs"].pk}
    assert (
        client.post(
            "/api/v1/vaccination/aefi/", theirs, content_type="application/json"
        ).status_code
        == 404
    )
    client.force_login(make_user(role="vaccinator", node="district2"))
    assert client.get(f"/api/v1/vaccination/aefi/{pk}/").status_code == 404
    assert client.get("/api/v1/vaccination/aefi/").json()["count"] == 0
    client.force_login(make_user(role="grid_worker"))
    assert client.get("/api/v1/vaccination/aefi/").status_code == 403
    assert Aefi.objects.count() == 1


def test_sites_and_products(city, make_user, client):
    client.force_login(make_user(role="vaccinator", node="district"))
    sites = client.get("/api/v1/vaccination/sites/").json()["results"]
    assert [s["code"] for s in sites] == ["JZ-A"]
    assert client.get(f"/api/v1/vaccination/sites/{city['site_c'].pk}/").status_code == 404
    products = client.get("/api/v1/vaccination/products/").json()["results"]
    assert len(products) == 6
    refused = client.post(
        "/api/v1/vaccination/sites/",
        {"code": "JZ-B", "name": "x", "jurisdiction": "320102"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    client.force_login(make_user(role="hq_staff", node="district"))
    made = client.post(
        "/api/v1/vaccination/sites/",
        {"code": "jz-b", "name": "梅园接种点", "jurisdiction": "320102001"},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["code"] == "JZ-B"
    outside = client.post(
        "/api/v1/vaccination/sites/",
        {"code": "JZ-D", "name": "x", "jurisdiction": "320104"},
        content_type="application/json",
    )
    assert outside.status_code == 404
    # A code that names no node reads exactly as one outside the subtree.
    unknown = client.post(
        "/api/v1/vaccination/sites/",
        {"code": "JZ-E", "name": "x", "jurisdiction": "999999"},
        content_type="application/json",
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == outside.json()["code"]
    assert Site.objects.filter(code__in=["JZ-D", "JZ-E"]).count() == 0


def test_upload_import(city, make_user, client):
    client.force_login(make_user(role="vaccinator", node="district"))
    a = city["people"]["grid_a"][1]
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "doses.csv",
        (
            "id_number,product_code,lot,dose_number,given_at,site_code\n"
            f"{a.document_number},BBIBP,L1,1,2021-05-01 09:00:00,JZ-A\n"
            "110101199003077777,BBIBP,L1,1,2021-05-01 09:00:00,JZ-A\n"
        ).encode(),
    )
    answer = client.post("/api/v1/vaccination/doses/import/", {"file": upload})
    assert answer.status_code == 201
    job = answer.json()
    assert (job["created"], job["rejected"]) == (1, 1)
    assert job["errors"][0]["value"].count("*") == 16  # the vaccinator sees masked numbers


def test_pages(given, city, make_user, client):
    client.force_login(make_user(role="grid_worker"))
    page = client.get("/vaccination/")
    assert page.status_code == 200
    assert 'id="first-pct">60.0%' in page.content.decode()  # grid A: 3 of 5
    lists = client.get("/vaccination/lists/?kind=overdue").content.decode()
    assert city["people"]["grid_a"][4].document_number in lists
    assert client.get("/vaccination/lists/?grid=320104001001G01").status_code == 404
    assert client.get("/vaccination/record/").status_code == 403
    client.force_login(make_user(role="vaccinator", node="district"))
    person = city["people"]["grid_b"][1]
    answer = client.post(
        "/vaccination/record/",
        {
            "id_number": person.document_number,
            "product": Product.objects.get(code="BBIBP").pk,
            "lot": "B2022",
            "site": city["site_a"].pk,
            "given_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
        follow=True,
    )
    assert "Dose 1 recorded" in answer.content.decode()
    assert Dose.objects.filter(person=person).count() == 1
    dose = Dose.objects.get(person=person)
    reported = client.post(
        "/vaccination/aefi/",
        {
            "id_number": person.document_number,
            "dose_number": 1,
            "onset_at": timezone.localtime(dose.given_at).strftime("%Y-%m-%dT%H:%M"),
            "severity": "rare",
            "symptoms": "皮疹",
        },
    )
    aefi = Aefi.objects.get()
    assert reported.status_code == 302 and reported.url == f"/vaccination/aefi/{aefi.pk}/"
    client.post(f"/vaccination/aefi/{aefi.pk}/", {"status": "investigating", "note": "随访"})
    aefi.refresh_from_db()
    assert aefi.status == "investigating"
    listed = client.get("/vaccination/aefi/").content.decode()
    assert person.name in listed and "Rare reaction" in listed
    assert client.get("/vaccination/import/").status_code == 200
    client.force_login(make_user(role="vaccinator", node="district2"))
    assert client.get(f"/vaccination/aefi/{aefi.pk}/").status_code == 404


def test_figures_for_the_daily_report(given, city):
    from fangkong.vaccination.figures import coverage_figures

    figures = coverage_figures(city["district"].path, timezone.localdate())
    assert figures == {
        "vacc_eligible": 7,
        "vacc_first": 3,
        "vacc_full": 2,
        "vacc_booster": 1,
        "vacc_60_population": 3,
        "vacc_60_full": 1,
        "vacc_60_booster": 1,
        "vacc_80_population": 1,
        "vacc_80_full": 1,
    }
    assert coverage_figures("/nowhere/", timezone.localdate()) == {}


def test_dashboard_tiles_show_coverage(given, city):
    from fangkong.analytics.dashboard import tiles
    from fangkong.vaccination.figures import coverage_figures

    today = coverage_figures(city["district"].path, timezone.localdate())
    shown = {t["key"]: t for t in tiles(today, {**today, "vacc_full": 1})}
    assert shown["vacc_full"]["value"] == 2 and shown["vacc_full"]["tone"] == "good"
    assert shown["vacc_full"]["label"] == "Vaccinated: full course"
    assert shown["vacc_booster"]["value"] == 1


def test_coverage_page_scope_and_breadcrumbs(given, city, make_user, client):
    client.force_login(make_user(role="hq_staff", node="district"))
    assert client.get("/vaccination/?node=320104").status_code == 404
    assert client.get("/vaccination/?node=nosuchnode").status_code == 404
    page = client.get("/vaccination/?node=320102001001G01")
    assert page.status_code == 200
    crumbs = [p.code for p in page.context["parents"]]
    # The district's own node and below: the city above it is not offered.
    assert crumbs == ["320102", "320102001", "320102001001"]
