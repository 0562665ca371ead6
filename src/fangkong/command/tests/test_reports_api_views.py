"""Daily reports and bulletins through the API and the pages: scope per endpoint, flows, queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from fangkong.accounts.tests.factories import UserFactory
from fangkong.command import services
from fangkong.command.models import Bulletin, DailyReport
from fangkong.geo.models import Jurisdiction

from .factories import ActivityFactory, CaseFactory

DAY = dt.date(2022, 4, 1)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def setup(tree, people, make_user, settings):
    settings.FANGKONG_BULLETIN_PDF = False
    CaseFactory(person=people["a"][0])
    case = CaseFactory(person=people["c"][0], classification="asymptomatic")
    ActivityFactory(case=case, place="夫子庙步行街")
    services.daily_reports_assemble(day=DAY)
    street = make_user(role="hq_staff", node="street")
    street2 = UserFactory(role="hq_staff", jurisdiction=Jurisdiction.objects.get(code="320104001"))
    city = make_user(role="commander", node="city")
    district = make_user(role="hq_staff", node="district")
    district2 = make_user(role="hq_staff", node="district2")
    city_bulletin = services.bulletin_generate(actor=city, node=tree["city"], day=DAY)
    d2_bulletin = services.bulletin_generate(actor=district2, node=tree["district2"], day=DAY)
    reports = {r.jurisdiction.code: r for r in DailyReport.objects.all()}
    return locals()


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_report_endpoints_scope_and_sign(setup):
    s = setup
    r = s["reports"]
    url = "/api/v1/command/daily-reports/"
    assert ids(api(s["district2"]).get(url)) == sorted([r["320104"].pk, r["320104001"].pk])
    assert len(ids(api(s["city"]).get(url + "?day=2022-04-01"))) == 5
    assert ids(api(s["city"]).get(url + "?day=2022-04-01&level=district")) == sorted(
        [r["320102"].pk, r["320104"].pk]
    )
    assert api(s["district2"]).get(f"{url}{r['320102'].pk}/").status_code == 404
    assert api(s["district2"]).post(f"{url}{r['320102001'].pk}/sign/").status_code == 404
    refused = api(s["district"]).post(f"{url}{r['320102'].pk}/sign/")
    assert (refused.status_code, refused.json()["code"]) == (400, "reports_unsigned")
    filled = api(s["street"]).post(
        f"{url}{r['320102001'].pk}/entries/", {"entries": {"volunteers": "12"}}, format="json"
    )
    assert filled.status_code == 200 and filled.json()["entries"] == {"volunteers": 12}
    signed = api(s["street"]).post(f"{url}{r['320102001'].pk}/sign/")
    assert signed.status_code == 200 and signed.json()["state"] == "signed"
    district = api(s["district"]).post(f"{url}{r['320102'].pk}/sign/").json()
    assert district["rollup"]["entry_volunteers"] == 12
    assert district["figures"]["cases_confirmed"] == 1


def test_report_list_query_count(setup):
    client = api(setup["city"])
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/command/daily-reports/")
    services.daily_reports_assemble(day=DAY - dt.timedelta(days=1))
    with CaptureQueriesContext(connection) as more:
        assert len(client.get("/api/v1/command/daily-reports/").json()["results"]) == 10
    assert len(more) == len(few)


def test_bulletin_endpoints_scope(setup):
    s = setup
    url = "/api/v1/command/bulletins/"
    assert ids(api(s["city"]).get(url)) == sorted([s["city_bulletin"].pk, s["d2_bulletin"].pk])
    # A draft of the city is not the district's business; the other district's draft is hidden.
    assert ids(api(s["district"]).get(url)) == []
    assert api(s["district"]).get(f"{url}{s['d2_bulletin'].pk}/").status_code == 404
    body = api(s["district2"]).get(f"{url}{s['d2_bulletin'].pk}/").json()
    assert body["title_zh"].startswith("秦淮区") and body["pdf_url"] is None
    assert "夫子庙步行街" in body["body_zh"]
    with CaptureQueriesContext(connection) as queries:
        api(s["city"]).get(url)
    assert len(queries) <= 4


def test_report_pages(client, setup):
    s = setup
    client.force_login(s["street"])
    page = client.get("/command/reports/?day=2022-04-01")
    assert page.status_code == 200
    assert "梅园新村街道" in page.content.decode() and "夫子庙街道" not in page.content.decode()
    detail = client.get(f"/command/reports/{s['reports']['320102001'].pk}/")
    html = detail.content.decode()
    assert "Sign and report upwards" in html and "New confirmed cases" in html
    assert client.get(f"/command/reports/{s['reports']['320104001'].pk}/").status_code == 404
    done = client.post(f"/command/reports/{s['reports']['320102001'].pk}/", {"step": "sign"})
    assert done.status_code == 302
    assert DailyReport.objects.get(pk=s["reports"]["320102001"].pk).state == "signed"


def test_report_page_in_chinese(client, setup):
    client.cookies["django_language"] = "zh-hans"
    client.force_login(setup["city"])
    html = client.get("/command/reports/?day=2022-04-01").content.decode()
    assert "2022-04-01 三级日报" in html and "未签发" in html and "新增确诊病例" in html


def test_bulletin_pages_flow(client, setup):
    s = setup
    client.force_login(s["city"])
    b = s["city_bulletin"]
    page = client.get("/command/bulletins/")
    assert page.status_code == 200 and b.title_zh in page.content.decode()
    assert client.post(f"/command/bulletins/{b.pk}/", {"step": "approve"}).status_code == 302
    assert client.post(f"/command/bulletins/{b.pk}/", {"step": "publish"}).status_code == 302
    b.refresh_from_db()
    assert b.state == Bulletin.State.PUBLISHED
    printed = client.get(f"/command/bulletins/{b.pk}/print/").content.decode()
    assert "@media print" in printed and b.title_zh in printed
    english = client.get(f"/command/bulletins/{b.pk}/print/?lang=en").content.decode()
    assert "epidemic bulletin" in english
    # No PDF stored (PDF printing off in tests): the PDF link opens the print dialog page.
    pdf = client.get(f"/command/bulletins/{b.pk}/pdf/")
    assert pdf.status_code == 302 and pdf["Location"].endswith("/print/?print=1")
    client.force_login(s["district"])
    # The district reads the published city bulletin but cannot open the other district's draft.
    assert client.get(f"/command/bulletins/{b.pk}/").status_code == 200
    assert client.get(f"/command/bulletins/{s['d2_bulletin'].pk}/").status_code == 404
    assert client.get(f"/command/bulletins/{s['d2_bulletin'].pk}/print/").status_code == 404


def test_pdf_printed_by_chromium_when_it_can(setup, settings, tmp_path):
    from fangkong.command import pdf

    if pdf.chromium() is None:
        pytest.skip("chromium is not installed")
    document = pdf.html_to_pdf("<h1>Bulletin 1</h1>", require_cjk_font=False, timeout=90)
    assert document is not None and document.startswith(b"%PDF")
