"""Population pages: search, detail with masking, audited reveal, import report, export; all scoped."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.audit.models import AuditEntry


@pytest.fixture
def browser(client, make_user):
    def login(role="grid_worker", node="grid_a"):
        client.force_login(make_user(role=role, node=node))
        return client

    return login


def test_search_lists_only_own_people(browser, people):
    page = browser().get("/people/").content.decode()
    for person in people["a"]:
        assert person.name in page
    for person in people["b"] + people["c"]:
        assert f">{person.name}<" not in page
    assert (
        browser()
        .get("/people/", {"q": people["b"][0].name})
        .content.decode()
        .count("people:detail")
        == 0
    )


def test_htmx_search_returns_results_only(browser, people):
    response = browser().get("/people/", {"q": people["a"][0].name}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and people["a"][0].name in body


def test_detail_masks_and_reveal_audits(browser, people):
    client = browser()
    person = people["a"][0]
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert person.document_number not in page
    assert person.document_number[0] + "*" * 16 + person.document_number[-1] in page
    revealed = client.post(f"/people/{person.pk}/reveal/", HTTP_HX_REQUEST="true").content.decode()
    assert person.document_number in revealed and person.phone in revealed
    assert AuditEntry.objects.filter(action="view_pii", object_id=str(person.pk)).count() == 1


def test_detail_without_pii_role_has_no_reveal(browser, people):
    client = browser(role="commander", node="city")
    person = people["a"][0]
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "reveal" not in page
    assert client.post(f"/people/{person.pk}/reveal/").status_code == 403


def test_other_grid_person_is_404(browser, people):
    client = browser()
    other = people["b"][0]
    assert client.get(f"/people/{other.pk}/").status_code == 404
    assert client.post(f"/people/{other.pk}/reveal/").status_code == 404


def test_export_page_is_scoped(browser, people):
    body = browser().get("/people/export.csv").content.decode("utf-8-sig")
    assert body.count("\n") == 4
    assert people["b"][0].document_number not in body


def test_import_page_report_and_rejected_download(browser, tree, people):
    client = browser()
    content = (
        "id_number,name,grid_code\n"
        f"{people['a'][0].document_number},{people['a'][0].name},320102001001G01\n"
        "12345,坏行,320102001001G01\n"
    ).encode()
    response = client.post("/people/import/", {"file": SimpleUploadedFile("f.csv", content)})
    assert response.status_code == 302
    report = client.get(response.url).content.decode()
    assert 'id="rejected">1<' in report
    rejected = client.get(response.url + "rejected.csv").content.decode("utf-8-sig")
    assert "12345" in rejected and people["a"][0].document_number not in rejected
    # Another grid's worker cannot open the report.
    other = browser(node="grid_b")
    assert other.get(response.url).status_code == 404
    assert other.get(response.url + "rejected.csv").status_code == 404


def test_import_page_forbidden_without_role(browser, tree):
    assert browser(role="lab_staff", node="city").get("/people/import/").status_code == 403


def test_pages_show_age_band_and_refuse_number_search_without_pii_right(browser, people):
    """Issue 11 point 3 on the pages: birth dates and exact-number search for every role."""
    client = browser(role="commander", node="city")
    person = people["a"][0]
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert person.birth_date.strftime("%Y-%m-%d") not in page
    results = client.get("/people/", {"q": person.name}).content.decode()
    assert person.birth_date.strftime("%Y-%m-%d") not in results
    assert client.get("/people/", {"q": person.document_number}).status_code == 403
    worker = browser()
    assert (
        person.birth_date.strftime("%Y-%m-%d")
        in worker.get(f"/people/{person.pk}/").content.decode()
    )
    assert person.name in worker.get("/people/", {"q": person.phone}).content.decode()
