"""A case's venue visits become leads on the grids the same day: the venue rule over the
recorded scans, run when the case is confirmed."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.common.models import Alert
from fangkong.people.tests.factories import PersonFactory
from fangkong.places import scans
from fangkong.places.colocation import venue_leads_for_case
from fangkong.tracing import services as tracing
from fangkong.tracing.models import ColocationRun, Contact, ContactLink

from .factories import city_of_two, make_place

pytestmark = pytest.mark.django_db


def scan(place, person=None, *, phone="", hours_ago: float, left_after=None):
    at = timezone.now() - dt.timedelta(hours=hours_ago)
    result = scans.scan_record(token=place.token, phone=phone or person.phone, at=at)
    if left_after is not None:
        from fangkong.places.models import Scan

        Scan.objects.filter(pk=result.scan_id).update(left_at=at + left_after)
    return result


def test_the_other_visitors_of_the_same_hour_become_leads_on_their_grids(
    django_capture_on_commit_callbacks,
):
    _city, a, b = city_of_two()
    market = make_place(a.community)
    other_place = make_place(a.community, name="梅园面馆", kind="restaurant")
    index, same_time, later = a.people[0], a.people[1], a.people[2]
    from_b = b.people[0]  # lives in the other district: the lead goes to their own grid
    scan(market, index, hours_ago=5, left_after=dt.timedelta(minutes=40))
    scan(market, same_time, hours_ago=4.9)
    scan(market, from_b, hours_ago=4.6)  # entered while the case was inside (exit recorded)
    scan(market, later, hours_ago=2)  # three hours after: not a contact
    scan(other_place, a.people[3], hours_ago=5)  # same time, another place: not a contact
    scan(market, phone="17700001234", hours_ago=5)  # nobody in the registry: no lead
    with django_capture_on_commit_callbacks(execute=True):
        case = tracing.case_open(
            actor=None,
            person=index,
            classification="confirmed",
            reported_at=timezone.now(),
            onset_date=timezone.localdate(),
            colocate=False,
        )
    assert case.window_start is not None
    leads = {c.person_id: c for c in Contact.objects.all()}
    assert set(leads) == {same_time.pk, from_b.pk}
    assert leads[from_b.pk].jpath == b.grid.path and leads[same_time.pk].jpath == a.grid.path
    assert all(c.origin == "venue" and c.setting == "venue" for c in leads.values())
    assert all(c.state == "pushed" for c in leads.values())
    assert set(ContactLink.objects.values_list("source_case_id", flat=True)) == {case.pk}
    assert set(
        Alert.objects.filter(kind="tracing_leads").values_list("jurisdiction_path", flat=True)
    ) == {
        a.grid.path,
        b.grid.path,
    }
    run = ColocationRun.objects.get(case=case)
    assert (run.rule, run.data, run.status, run.rows, run.leads_created) == (
        "venue",
        "places:scan",
        "done",
        2,
        2,
    )


def test_a_number_registered_later_is_matched_when_the_case_comes():
    _city, a, _b = city_of_two()
    market = make_place(a.community)
    index = a.people[0]
    scan(market, index, hours_ago=3)
    scan(market, phone="17700009999", hours_ago=3)
    newcomer = PersonFactory(grid=a.grid, phone="17700009999")
    case = tracing.case_open(
        actor=None,
        person=index,
        classification="confirmed",
        reported_at=timezone.now(),
        onset_date=timezone.localdate(),
        colocate=False,
    )
    stats = venue_leads_for_case(case_id=case.pk)
    assert stats["created"] == 1
    assert Contact.objects.get().person_id == newcomer.pk


def test_a_suspected_case_makes_no_leads(django_capture_on_commit_callbacks):
    _city, a, _b = city_of_two()
    market = make_place(a.community)
    scan(market, a.people[0], hours_ago=3)
    scan(market, a.people[1], hours_ago=3)
    with django_capture_on_commit_callbacks(execute=True):
        tracing.case_open(
            actor=None,
            person=a.people[0],
            classification="suspected",
            reported_at=timezone.now(),
            onset_date=timezone.localdate(),
            colocate=False,
        )
    assert Contact.objects.count() == 0
