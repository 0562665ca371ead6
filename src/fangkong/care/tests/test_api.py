"""The care API and pages: scope per endpoint and page, query counts, Chinese pages."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.care import services
from fangkong.care.models import Bed

from .factories import make_case, make_hospital


@pytest.fixture
def setup(tree, people, make_user, client):
    h_a = make_hospital(tree["district"], code="HA", icu=2, general=6)
    h_c = make_hospital(tree["district2"], code="HC", icu=2, general=6)
    cases = {k: [make_case(p) for p in v] for k, v in people.items()}
    stays = {
        "a": [services.admission_create(actor=None, case=c, facility=h_a) for c in cases["a"]],
        "c": [services.admission_create(actor=None, case=c, facility=h_c) for c in cases["c"]],
    }
    staff = make_user(role="hospital_staff", node="district")
    client.force_login(staff)
    return {"h_a": h_a, "h_c": h_c, "cases": cases, "stays": stays, "staff": staff}


def test_facilities_scope_and_occupancy(setup, client):
    data = client.get("/api/v1/care/facilities/").json()
    assert [f["code"] for f in data["results"]] == ["HA"]
    assert client.get(f"/api/v1/care/facilities/{setup['h_c'].pk}/").status_code == 404
    assert client.get(f"/api/v1/care/facilities/{setup['h_c'].pk}/beds/").status_code == 404
    beds = client.get(f"/api/v1/care/facilities/{setup['h_a'].pk}/beds/").json()
    assert len(beds) == 8 and sum(b["state"] == "occupied" for b in beds) == 3
    occ = client.get("/api/v1/care/facilities/occupancy/").json()
    assert [f["code"] for f in occ["facilities"]] == ["HA"]
    assert occ["total"]["general"]["occupied"] == 3 and occ["total"]["total"] == 8
    assert occ["total"]["rate"] == 37.5
    other_bed = Bed.objects.filter(facility=setup["h_c"]).first()
    url = f"/api/v1/care/facilities/{setup['h_a'].pk}/beds/{other_bed.pk}/state/"
    assert client.post(url, {"state": "out_of_service"}).status_code == 404
    bed = Bed.objects.filter(facility=setup["h_a"], state="vacant").first()
    url = f"/api/v1/care/facilities/{setup['h_a'].pk}/beds/{bed.pk}/state/"
    assert client.post(url, {"state": "out_of_service"}).json()["state"] == "out_of_service"


def test_admissions_scope_queries_and_steps(setup, client):
    with CaptureQueriesContext(connection) as ctx:
        data = client.get("/api/v1/care/admissions/").json()
    assert sorted(a["id"] for a in data["results"]) == sorted(a.pk for a in setup["stays"]["a"])
    assert len(ctx.captured_queries) <= 6
    assert data["results"][0]["document_number"].count("*") == 16
    theirs = setup["stays"]["c"][0]
    for suffix, payload in [
        ("", None),
        ("severity/", {"severity": "critical"}),
        ("tests/", {"sampled_at": timezone.now().isoformat(), "result": "negative"}),
        ("transfer/", {"facility": setup["h_a"].pk}),
        ("discharge/", {}),
    ]:
        url = f"/api/v1/care/admissions/{theirs.pk}/{suffix}"
        response = client.get(url) if payload is None else client.post(url, payload)
        assert response.status_code == 404, url
    mine = setup["stays"]["a"][0]
    response = client.post(f"/api/v1/care/admissions/{mine.pk}/severity/", {"severity": "critical"})
    assert response.status_code == 200 and response.json()["bed_type"] == "icu"
    response = client.post(f"/api/v1/care/admissions/{mine.pk}/discharge/")
    assert response.status_code == 400
    assert response.json()["code"] == "discharge_not_met"
    response = client.post(
        f"/api/v1/care/admissions/{mine.pk}/transfer/", {"facility": setup["h_c"].pk}
    )
    assert response.status_code == 404


def test_admit_through_api(setup, client, people, make_user):
    grid_b_case = setup["cases"]["b"][0]
    response = client.post("/api/v1/care/admissions/", {"case": grid_b_case.pk})
    assert response.status_code == 201
    assert response.json()["facility_code"] == "HA"
    again = client.post("/api/v1/care/admissions/", {"case": grid_b_case.pk})
    assert again.status_code == 409
    other = setup["cases"]["b"][1]
    # Outside the grid worker's subtree the case does not exist; inside it their role refuses.
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    assert client.post("/api/v1/care/admissions/", {"case": other.pk}).status_code == 404
    client.force_login(make_user(role="grid_worker", node="grid_b"))
    refused = client.post("/api/v1/care/admissions/", {"case": other.pk})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    # A grid worker sees the admissions of their grid's cases, in any hospital.
    data = client.get("/api/v1/care/admissions/").json()
    assert sorted(a["id"] for a in data["results"]) == sorted(a.pk for a in setup["stays"]["a"])


def test_pages_scope_and_chinese(setup, client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get("/care/").content.decode()
    assert "医院床位" in page and "Hospital HA" in page and "Hospital HC" not in page
    board = client.get(f"/care/facilities/{setup['h_a'].pk}/").content.decode()
    assert "病区 1" in board and "W1-01" in board and 'class="bed occupied"' in board
    assert client.get(f"/care/facilities/{setup['h_c'].pk}/").status_code == 404
    mine = setup["stays"]["a"][0]
    page = client.get(f"/care/admissions/{mine.pk}/").content.decode()
    assert mine.case.code in page and "出院" in page
    assert client.get(f"/care/admissions/{setup['stays']['c'][0].pk}/").status_code == 404
    response = client.post(
        f"/care/admissions/{mine.pk}/", {"step": "severity", "severity": "severe"}
    )
    assert response.status_code == 302
    mine.case.refresh_from_db()
    assert mine.case.severity == "severe"
    response = client.post("/care/admit/", {"case": setup["cases"]["b"][1].code})
    assert response.status_code == 302
    assert client.post("/care/admit/", {"case": setup["cases"]["c"][0].code}).status_code == 404
