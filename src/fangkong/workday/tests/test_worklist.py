"""The lead worklist shows when each lead was pushed, filters by the day pushed, and keeps the
note typed on verify on the card."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.tracing import services as tracing
from fangkong.tracing.models import Contact
from fangkong.tracing.tests.factories import open_case


@pytest.fixture
def leads(people):
    case = open_case(people["a"][0])
    now = timezone.now()
    today, old = (
        tracing.contact_add(
            actor=None,
            person=p,
            source_case=case,
            setting="household",
            last_exposure_at=now - dt.timedelta(hours=3),
        )
        for p in people["a"][1:3]
    )
    Contact.objects.filter(pk=old.pk).update(pushed_at=now - dt.timedelta(days=3))
    return {"today": today, "old": Contact.objects.get(pk=old.pk)}


def test_pushed_time_and_day_filter(client, make_user, leads):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    body = client.get("/tracing/leads/").content.decode()
    pushed = timezone.localtime(leads["today"].pushed_at).strftime("%m-%d %H:%M")
    assert f">{pushed}</time>" in body
    body = client.get("/tracing/leads/?pushed=today").content.decode()
    assert f'id="lead-{leads["today"].pk}"' in body and f'id="lead-{leads["old"].pk}"' not in body
    day = timezone.localtime(leads["old"].pushed_at).date().isoformat()
    body = client.get(f"/tracing/leads/?pushed={day}").content.decode()
    assert f'id="lead-{leads["old"].pk}"' in body and f'id="lead-{leads["today"].pk}"' not in body
    assert 'type="date"' in body


def test_bad_day_is_a_400_with_its_code(client, make_user, leads):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    response = client.get("/tracing/leads/?pushed=yesterday-ish")
    assert response.status_code == 400
    assert 'data-code="invalid"' in response.content.decode()


def test_note_typed_on_verify_shows_on_the_card(client, make_user, leads):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    client.post(
        "/tracing/leads/",
        {"contact": leads["today"].pk, "do": "verify", "note": "本人在家，电话已接通"},
    )
    assert Contact.objects.get(pk=leads["today"].pk).note == "本人在家，电话已接通"
    body = client.get("/tracing/leads/").content.decode()
    assert "本人在家，电话已接通" in body


def test_other_grid_sees_neither_lead(client, make_user, leads):
    client.force_login(make_user(role="grid_worker", node="grid_b"))
    body = client.get("/tracing/leads/?pushed=today").content.decode()
    assert f'id="lead-{leads["today"].pk}"' not in body
