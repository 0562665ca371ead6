"""Pages: round set-up, the scanner, the lab bench, worklists and the HQ view, each within scope."""

import pytest
from django.conf import settings
from django.test import Client

from fangkong.testing import services
from fangkong.testing.models import Round, Tube

from .factories import LabFactory, SiteFactory, make_round


@pytest.fixture
def web(make_user):
    def client_for(role="grid_worker", node="grid_a", **kwargs):
        client = Client()
        client.user = make_user(role=role, node=node, **kwargs)
        client.force_login(client.user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return client_for


@pytest.fixture
def world(tree, people):
    round_ = make_round("R1", tree["city"], pool_size=10)
    other = make_round("RC", tree["district2"])
    site = SiteFactory(code="SA", name="长江路采样点", jurisdiction=tree["grid_a"])
    lab = LabFactory(code="LAB1", name="市检测中心", jurisdiction=tree["city"])
    return {"round": round_, "other": other, "site": site, "lab": lab, **people}


def test_round_setup_page(web, tree):
    hq = web(role="commander", node="district")
    response = hq.post(
        "/testing/", {"code": "N1", "name": "第一轮", "scope": "320102", "pool_size": 10}
    )
    assert response.status_code == 302 and response["Location"] == "/testing/rounds/N1/"
    refused = hq.post("/testing/", {"code": "N2", "name": "x", "scope": "320104", "pool_size": 10})
    assert "every code must be a node of your subtree" in refused.content.decode()
    assert list(Round.objects.values_list("code", flat=True)) == ["N1"]
    assert (
        web()
        .post("/testing/", {"code": "N3", "name": "x", "scope": "320102", "pool_size": 10})
        .status_code
        == 403
    )


def test_scanner_page_and_scan(web, world):
    sampler = web(role="sampler")
    page = sampler.get("/testing/scanner/?round=R1&site=SA").content.decode()
    assert 'name="code" autofocus' in page and "长江路采样点" in page
    person = world["a"][0]
    post = {"round": "R1", "site": "SA", "barcode": "T1", "code": person.document_number}
    first = sampler.post("/testing/scanner/scan/", post, HTTP_HX_REQUEST="true").content.decode()
    assert "Added." in first and "Tube T1: 1 of 10" in first
    again = sampler.post("/testing/scanner/scan/", post).content.decode()
    assert "Already in this tube." in again
    other = sampler.post("/testing/scanner/scan/", {**post, "barcode": "T2"}).content.decode()
    assert "another open tube" in other
    closed = sampler.post("/testing/scanner/scan/", {**post, "close": "1"}).content.decode()
    assert "Tube closed." in closed and Tube.objects.get(barcode="T1").status == "closed"
    assert web().get("/testing/scanner/").status_code == 403
    assert (
        web(role="sampler", node="grid_b").post("/testing/scanner/scan/", post).status_code == 404
    )


def test_lab_page_receive_and_result(web, world):
    scan = services.tube_scan(
        actor=None,
        round_=world["round"],
        barcode="T1",
        site=world["site"],
        code=world["a"][0].document_number,
    )
    services.tube_close(actor=None, tube=scan.tube)
    lab = web(role="lab_staff", node="city")
    assert "市检测中心" in lab.get("/testing/lab/").content.decode()
    lab.post("/testing/lab/", {"lab": "LAB1", "action": "receive", "barcode": "T1"})
    assert Tube.objects.get(barcode="T1").status == "received"
    lab.post(
        "/testing/lab/", {"lab": "LAB1", "action": "result", "barcode": "T1", "result": "positive"}
    )
    assert Tube.objects.get(barcode="T1").result == "positive"
    page = web().get("/testing/rechecks/").content.decode()
    assert world["a"][0].name in page
    assert world["a"][0].name not in web(node="grid_b").get("/testing/rechecks/").content.decode()


def test_hq_round_page_progress_by_node(web, world, django_assert_max_num_queries):
    services.tube_scan(
        actor=None,
        round_=world["round"],
        barcode="T1",
        site=world["site"],
        code=world["a"][0].document_number,
    )
    hq = web(role="commander", node="city")
    # A fixed number whatever the size of the round (the recount on PostgreSQL adds its SETs).
    with django_assert_max_num_queries(30):
        page = hq.get("/testing/rounds/R1/").content.decode()
    assert "玄武区" in page and "秦淮区" in page
    drill = hq.get("/testing/rounds/R1/?node=320102001001").content.decode()
    assert "第一网格" in drill and "第二网格" in drill
    assert web().get("/testing/rounds/R1/?node=320102001001G02").status_code == 404
    assert web().get("/testing/rounds/RC/").status_code == 404


def test_untested_positives_turnaround_pages_scoped(web, world):
    services.tube_scan(
        actor=None,
        round_=world["round"],
        barcode="T1",
        site=world["site"],
        code=world["a"][0].document_number,
    )
    worker = web()
    page = worker.get("/testing/rounds/R1/untested/").content.decode()
    assert (
        world["a"][1].name in page
        and world["a"][0].name not in page
        and world["b"][0].name not in page
    )
    assert worker.get("/testing/rounds/RC/untested/").status_code == 404
    assert worker.get("/testing/rounds/R1/positives/").status_code == 200
    assert worker.get("/testing/rounds/RC/positives/").status_code == 404
    assert worker.get("/testing/rounds/R1/turnaround/").status_code == 200
    assert worker.get("/testing/rounds/RC/turnaround/").status_code == 404
    listing = worker.get("/testing/").content.decode()
    assert "/testing/rounds/R1/" in listing and "/testing/rounds/RC/" not in listing


def test_scanner_page_answers_another_districts_resident_as_unknown(web, world):
    """Issue 11 point 8: the page named the other district's resident, or said the ID was unknown."""
    sampler = web(role="sampler")
    post = {"round": "R1", "site": "SA", "barcode": "T9"}
    foreign = world["c"][0]
    answers = [
        sampler.post("/testing/scanner/scan/", {**post, "code": code}).content.decode()
        for code in (foreign.document_number, "110101199001011234")
    ]
    assert answers[0] == answers[1]
    assert "nobody registered in your area has this number" in answers[0]
    assert foreign.name not in answers[0]
