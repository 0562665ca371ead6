"""REST endpoints: the idempotent scanner, lab results, worklists, coverage, and scope on each."""

import pytest
from rest_framework.test import APIClient

from fangkong.testing import services
from fangkong.testing.models import Recheck, Round, Tube

from .factories import LabFactory, SiteFactory, make_round


@pytest.fixture
def api(make_user):
    def client_for(role="grid_worker", node="grid_a", **kwargs):
        user = make_user(role=role, node=node, **kwargs)
        client = APIClient()
        client.force_authenticate(user)
        client.user = user
        return client

    return client_for


@pytest.fixture
def world(tree, people):
    round_ = make_round("R1", tree["city"], pool_size=10)
    site_a = SiteFactory(code="SA", jurisdiction=tree["grid_a"])
    site_b = SiteFactory(code="SB", jurisdiction=tree["grid_b"])
    lab = LabFactory(code="LAB1", jurisdiction=tree["city"])
    return {"round": round_, "site_a": site_a, "site_b": site_b, "lab": lab, **people}


def scan_body(world, barcode, person, site="SA"):
    return {"round": "R1", "site": site, "barcode": barcode, "code": person.document_number}


def test_scan_is_idempotent_and_enforces_rules(api, world):
    client = api(role="sampler")
    first = client.post(
        "/api/v1/testing/tubes/scan/", scan_body(world, "T1", world["a"][0]), format="json"
    )
    assert first.status_code == 201
    assert (
        first.json()["tube_created"],
        first.json()["added"],
        first.json()["tube"]["members"],
    ) == (True, True, 1)
    again = client.post(
        "/api/v1/testing/tubes/scan/", scan_body(world, "T1", world["a"][0]), format="json"
    )
    assert again.status_code == 200 and again.json()["added"] is False
    other = client.post(
        "/api/v1/testing/tubes/scan/", scan_body(world, "T2", world["a"][0]), format="json"
    )
    assert other.status_code == 409
    assert client.post("/api/v1/testing/tubes/T1/close/").json()["status"] == "closed"
    assert Tube.objects.get(barcode="T1").members == 1


def test_scan_refused_outside_scope_and_role(api, world):
    assert (
        api(role="grid_worker")
        .post("/api/v1/testing/tubes/scan/", scan_body(world, "T1", world["a"][0]), format="json")
        .status_code
        == 403
    )
    sampler_b = api(role="sampler", node="grid_b")
    assert (
        sampler_b.post(
            "/api/v1/testing/tubes/scan/",
            scan_body(world, "T1", world["a"][0], site="SA"),
            format="json",
        ).status_code
        == 404
    )


def test_results_endpoint_and_worklist(api, world):
    sampler = api(role="sampler")
    for person in world["a"]:
        sampler.post("/api/v1/testing/tubes/scan/", scan_body(world, "T1", person), format="json")
    sampler.post("/api/v1/testing/tubes/T1/close/")
    lab = api(role="lab_staff", node="city")
    assert (
        lab.post("/api/v1/testing/tubes/T1/receive/", {"lab": "LAB1"}, format="json").json()[
            "status"
        ]
        == "received"
    )
    body = [{"tube_barcode": "T1", "result": "positive", "lab_code": "LAB1", "ct_orf1ab": "30.5"}]
    response = lab.post("/api/v1/testing/results/", body, format="json")
    assert response.status_code == 200 and response.json() == [
        {"tube_barcode": "T1", "changed": True}
    ]
    assert lab.post("/api/v1/testing/results/", body, format="json").json() == [
        {"tube_barcode": "T1", "changed": False}
    ]
    conflict = lab.post(
        "/api/v1/testing/results/", [{**body[0], "result": "negative"}], format="json"
    )
    assert conflict.status_code == 409
    worker_a = api()
    rows = worker_a.get("/api/v1/testing/rechecks/").json()["results"]
    assert sorted(r["person"]["id"] for r in rows) == sorted(p.pk for p in world["a"])
    assert rows[0]["person"]["document_number"].count("*") == 16
    assert api(node="grid_b").get("/api/v1/testing/rechecks/").json()["count"] == 0
    positives = worker_a.get("/api/v1/testing/rounds/R1/positives/").json()
    assert len(positives["controls"]) == 3 and positives["findings"] == []
    assert api(node="grid_b").get("/api/v1/testing/rounds/R1/positives/").json()["controls"] == []
    assert Recheck.objects.count() == 3


def test_round_visibility_and_scope_per_endpoint(api, world, tree):
    make_round("RC", tree["district2"])  # district 2 only
    worker_a = api()
    assert [r["code"] for r in worker_a.get("/api/v1/testing/rounds/").json()["results"]] == ["R1"]
    assert worker_a.get("/api/v1/testing/rounds/RC/").status_code == 404
    assert worker_a.get("/api/v1/testing/rounds/RC/untested/").status_code == 404
    assert api(role="commander", node="city").get("/api/v1/testing/rounds/").json()["count"] == 2
    # Sites and tubes of grid B do not exist for a grid-A user.
    assert [s["code"] for s in worker_a.get("/api/v1/testing/sites/").json()["results"]] == ["SA"]
    assert worker_a.get("/api/v1/testing/sites/SB/").status_code == 404
    services.tube_scan(
        actor=None,
        round_=world["round"],
        barcode="TB",
        site=world["site_b"],
        code=world["b"][0].document_number,
    )
    assert worker_a.get("/api/v1/testing/tubes/TB/").status_code == 404
    assert len(worker_a.get("/api/v1/testing/tubes/").json()["results"]) == 0
    assert api(node="grid_b").get("/api/v1/testing/tubes/TB/").json()["members"] == 1
    assert worker_a.get("/api/v1/testing/labs/").json()["count"] == 0


def test_untested_and_progress(api, world):
    services.tube_scan(
        actor=None,
        round_=world["round"],
        barcode="T1",
        site=world["site_a"],
        code=world["a"][0].document_number,
    )
    worker_a = api()
    untested = worker_a.get("/api/v1/testing/rounds/R1/untested/").json()
    assert sorted(p["id"] for p in untested["results"]) == sorted(p.pk for p in world["a"][1:])
    progress = api(role="commander", node="city").get("/api/v1/testing/rounds/R1/progress/").json()
    assert progress["total"]["expected"] == 6 and progress["total"]["sampled"] == 1
    assert [(c["code"], c["expected"], c["sampled"]) for c in progress["children"]] == [
        ("320102", 5, 1),
        ("320104", 1, 0),
    ]
    mine = worker_a.get("/api/v1/testing/rounds/R1/progress/").json()
    assert (mine["node"], mine["total"]["expected"], mine["total"]["sampled"]) == (
        "320102001001G01",
        3,
        1,
    )


def test_turnaround_and_overdue(api, world):
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    for barcode, hours in (("OLD", 13), ("MID", 7), ("NEW", 1)):
        scan = services.tube_scan(
            actor=None,
            round_=world["round"],
            barcode=barcode,
            site=world["site_a"],
            code=world["a"][["OLD", "MID", "NEW"].index(barcode)].document_number,
        )
        services.tube_close(actor=None, tube=scan.tube, at=now - dt.timedelta(hours=hours))
    services.result_record(
        actor=None, tube=Tube.objects.get(barcode="NEW"), result="negative", lab=world["lab"]
    )
    client = api(role="commander", node="city")
    rows = client.get("/api/v1/testing/rounds/R1/overdue/").json()["results"]
    assert [(r["barcode"], r["level"]) for r in rows] == [("OLD", "breach"), ("MID", "warning")]
    assert api(node="grid_b").get("/api/v1/testing/rounds/R1/overdue/").json()["count"] == 0
    turnaround = client.get("/api/v1/testing/rounds/R1/turnaround/").json()
    assert turnaround["site"] == [{"key": "SA", "tubes": 1, "mean_hours": 1.0}]


def test_round_create_api(api, tree):
    hq = api(role="commander", node="district")
    response = hq.post(
        "/api/v1/testing/rounds/",
        {"code": "N1", "name": "新一轮", "scope": ["320102"], "pool_size": 20},
        format="json",
    )
    assert response.status_code == 201 and response.json()["scope"] == ["320102"]
    assert (
        hq.post(
            "/api/v1/testing/rounds/",
            {"code": "N2", "name": "x", "scope": ["320104"]},
            format="json",
        ).status_code
        == 400
    )
    assert (
        api()
        .post(
            "/api/v1/testing/rounds/",
            {"code": "N3", "name": "x", "scope": ["320102001001G01"]},
            format="json",
        )
        .status_code
        == 403
    )
    assert Round.objects.get(code="N1").pool_size == 20


def test_results_file_upload(api, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.tube_scan(
        actor=None,
        round_=world["round"],
        barcode="T1",
        site=world["site_a"],
        code=world["a"][0].document_number,
    )
    services.tube_close(actor=None, tube=Tube.objects.get(barcode="T1"))
    upload = SimpleUploadedFile(
        "r.csv",
        b"tube_barcode,result,reported_at,lab_code\nT1,negative,2026-11-23 10:00:00,LAB1\nT9,negative,2026-11-23 10:00:00,LAB1\n",
    )
    job = (
        api(role="lab_staff", node="city")
        .post("/api/v1/testing/results/import/", {"file": upload}, format="multipart")
        .json()
    )
    assert (job["updated"], job["rejected"], job["errors"][0]["line"]) == (1, 1, 3)
