"""The screening pages: campaigns, coverage, the phone page, the manifest and service worker."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from fangkong.people.models import Person
from fangkong.screening import services
from fangkong.screening.models import Campaign

from .factories import visit

pytestmark = pytest.mark.django_db


def test_campaign_pages(client, campaign, make_user, homes, tree):
    worker = make_user("grid_worker", "grid_a")
    visit(worker, campaign, homes["a"][0], Person.objects.filter(household=homes["a"][0]))
    services.grid_deadline_set(
        actor=None,
        campaign=campaign,
        grid=tree["grid_b"],
        deadline=timezone.now() - dt.timedelta(hours=2),
    )
    client.force_login(make_user("commander", "district"))
    listing = client.get("/screening/").content.decode()
    assert "玄武区入户排查" in listing and "1 / 6" in listing
    page = client.get(f"/screening/campaigns/{campaign.pk}/?node=320102001001").content.decode()
    assert "第一网格" in page and "1 / 4" in page and "0 / 2" in page
    assert 'class="overdue"><td>第二网格' in page
    client.force_login(make_user("commander", "district2"))
    assert client.get(f"/screening/campaigns/{campaign.pk}/").status_code == 404


def test_open_a_campaign_from_the_page(client, make_user, homes, tree):
    client.force_login(make_user("hq_staff", "district"))
    deadline = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/screening/",
        {
            "name": "长江路社区排查",
            "jurisdiction": "320102001001",
            "deadline": deadline,
            "risk_days": "14",
            "questions": ["residents", "symptoms"],
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == f"/screening/campaigns/{campaign.pk}/"
    assert campaign.questions == ["residents", "symptoms"]
    client.force_login(make_user("grid_worker", "grid_a"))
    assert client.post("/screening/", {"name": "x"}).status_code == 403


def test_phone_page_manifest_and_service_worker(client, campaign, make_user):
    client.force_login(make_user("grid_worker", "grid_a"))
    page = client.get("/screening/work/").content.decode()
    assert '<link rel="manifest" href="/screening/manifest.webmanifest">' in page
    assert 'data-sync-url="/api/v1/screening/visits/sync/"' in page
    assert 'id="screening-texts" type="application/json"' in page
    assert "<script>" not in page
    manifest = json.loads(client.get("/screening/manifest.webmanifest").content)
    assert (manifest["start_url"], manifest["scope"]) == ("/screening/work/", "/screening/")
    worker = client.get("/screening/sw.js")
    assert worker["Content-Type"] == "text/javascript"
    assert worker["Service-Worker-Allowed"] == "/screening/"
    assert b'addEventListener("fetch"' in b"".join(worker.streaming_content)
    client.force_login(make_user("commander", "district"))
    assert client.get("/screening/work/").status_code == 403


def test_navigation_per_role(client, make_user):
    client.force_login(make_user("grid_worker", "grid_a"))
    page = client.get("/screening/").content.decode()
    assert 'href="/screening/work/"' in page
    client.force_login(make_user("supply_officer", "district"))
    assert client.get("/screening/").status_code == 403
    assert 'href="/screening/"' not in client.get("/").content.decode()


def test_the_campaign_page_sets_a_grid_deadline_and_reassigns_a_household(
    client, campaign, make_user, homes, tree
):
    from fangkong.screening.models import Assignment, GridCoverage

    hq = make_user("hq_staff", "district")
    client.force_login(hq)
    page = client.get(f"/screening/campaigns/{campaign.pk}/")
    assert 'id="manage"' in page.content.decode()
    due = (campaign.deadline - dt.timedelta(hours=5)).astimezone(timezone.get_current_timezone())
    done = client.post(
        f"/screening/campaigns/{campaign.pk}/deadline/",
        {"grid": "320102001001G02", "deadline": due.strftime("%Y-%m-%dT%H:%M")},
    )
    assert done.status_code == 302
    row = GridCoverage.objects.get(campaign=campaign, grid__code="320102001001G02")
    assert row.deadline == due.replace(second=0, microsecond=0)
    household = homes["a"][3]
    moved = client.post(
        f"/screening/campaigns/{campaign.pk}/reassign/",
        {"household": household.code, "grid": "320102001001G02"},
    )
    assert moved.status_code == 302
    assignment = Assignment.objects.get(campaign=campaign, household=household)
    assert (assignment.grid.code, assignment.version) == ("320102001001G02", 2)
    # Another district's grid reads as unknown; a grid worker may not use the forms.
    client.post(
        f"/screening/campaigns/{campaign.pk}/reassign/",
        {"household": household.code, "grid": "320104001001G01"},
    )
    assert Assignment.objects.get(pk=assignment.pk).grid.code == "320102001001G02"
    client.force_login(make_user("grid_worker", "grid_b"))
    refused = client.post(
        f"/screening/campaigns/{campaign.pk}/deadline/", {"grid": "320102001001G02"}
    )
    assert refused.status_code == 403
