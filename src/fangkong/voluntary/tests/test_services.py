"""Bookings, capacity, the QR scan through the testing scan service, and the results lookup."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test import override_settings
from django.utils import timezone

from fangkong.audit.models import AuditEntry
from fangkong.common import errors
from fangkong.testing import services as testing
from fangkong.testing.models import Sample
from fangkong.voluntary import services, sms
from fangkong.voluntary.models import Booking, LookupCode, Slot

from .conftest import book, last_code


def test_booking_over_capacity_is_refused(world):
    slot = world.slot(world.a, capacity=2)
    first = book(slot, world.a.people[0])
    book(slot, world.a.people[1])
    with pytest.raises(errors.Conflict) as refused:
        book(slot, world.a.people[2])
    assert refused.value.code == "slot_full"
    slot.refresh_from_db()
    assert (slot.booked, slot.capacity) == (2, 2)
    assert Booking.objects.filter(slot=slot).count() == 2
    # A cancelled booking gives its place back, once.
    services.booking_cancel(token=first.token, ip=None)
    services.booking_cancel(token=first.token, ip=None)
    slot.refresh_from_db()
    assert slot.booked == 1
    third = book(slot, world.a.people[2])
    assert third.status == Booking.Status.BOOKED


def test_the_database_itself_refuses_more_bookings_than_places(world):
    slot = world.slot(world.a, capacity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections need PostgreSQL")
def test_two_bookings_of_the_last_place_at_once_one_wins(world):
    slot = world.slot(world.a, capacity=1)
    people = world.a.people[:2]
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(person):
        try:
            barrier.wait(5)
            outcomes.append(book(slot, person, ip=f"10.0.0.{person.pk % 200}").pk)
        except errors.Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slot.refresh_from_db()
    assert slot.booked == 1
    assert sorted(map(str, outcomes))[-1] == "slot_full"
    assert Booking.objects.filter(slot=slot).count() == 1


def test_identity_must_match_and_the_refusal_says_nothing_more(world):
    slot = world.slot(world.a)
    person = world.a.people[0]
    codes = []
    for number, name in [
        (person.document_number, "someone else"),
        ("110101199003074514", person.name),  # valid, not registered
        ("not a number", person.name),
    ]:
        with pytest.raises(errors.DomainError) as refused:
            services.booking_create(slot_id=slot.pk, id_number=number, name=name, ip="1.1.1.1")
        codes.append((refused.value.code, str(refused.value.message)))
    assert len(set(codes)) == 1 and codes[0][0] == "identity_mismatch"


def test_one_live_booking_per_person_and_day(world):
    slot = world.slot(world.a)
    other = world.slot(world.a, starts=dt.time(11, 0), ends=dt.time(12, 0))
    first = book(slot, world.a.people[0])
    with pytest.raises(errors.Conflict) as refused:
        book(other, world.a.people[0])
    assert refused.value.code == "already_booked"
    services.booking_cancel(token=first.token, ip=None)
    assert book(other, world.a.people[0]).slot_id == other.pk


def test_a_slot_that_is_over_takes_no_booking(world):
    slot = world.slot(world.a, day=world.today, starts=dt.time(0, 0), ends=dt.time(0, 1))
    late = timezone.make_aware(dt.datetime.combine(world.today, dt.time(0, 2)))
    with pytest.raises(errors.DomainError) as refused:
        book(slot, world.a.people[0], now=late)
    assert refused.value.code == "slot_past"


def test_the_qr_code_is_scanned_into_a_tube_as_its_person(world):
    slot = world.today_slot(world.b)
    # A resident of district A books at district B's site: the QR code stands for the ID card,
    # so B's desk may swab someone it could not find by number.
    person = world.a.people[0]
    booking = book(slot, person)
    assert booking.qr_payload == f"FKV:{booking.token}"
    with pytest.raises(testing.TestingError):
        testing.desk_scan(
            actor=world.b.sampler,
            round_code="VOL",
            site_code=world.b.site.code,
            barcode="T1",
            code=person.document_number,
        )
    scan = testing.desk_scan(
        actor=world.b.sampler,
        round_code="VOL",
        site_code=world.b.site.code,
        barcode="T1",
        code=booking.qr_payload.lower(),
    )
    assert scan.added and scan.person == person
    sample = Sample.objects.get(tube__barcode="T1")
    assert sample.person_id == person.pk and sample.scanned_by_id == world.b.sampler.pk
    booking.refresh_from_db()
    assert (booking.status, booking.tube_barcode) == ("sampled", "T1")
    # The same scan again changes nothing; into another tube it is refused.
    again = testing.desk_scan(
        actor=world.b.sampler,
        round_code="VOL",
        site_code=world.b.site.code,
        barcode="T1",
        code=booking.qr_payload,
    )
    assert not again.added
    with pytest.raises(errors.Conflict) as used:
        testing.desk_scan(
            actor=world.b.sampler,
            round_code="VOL",
            site_code=world.b.site.code,
            barcode="T2",
            code=booking.qr_payload,
        )
    assert used.value.code == "booking_used"
    with pytest.raises(errors.Conflict) as cancel:
        services.booking_cancel(token=booking.token, ip=None)
    assert cancel.value.code == "booking_sampled"


def test_a_qr_code_holds_only_at_its_site_on_its_day(world):
    here = world.today_slot(world.a)
    person = world.a.people[1]
    booking = book(here, person)
    for code, site, expected in [
        (booking.qr_payload, world.b.site, "booking_not_here"),
        ("FKV:NOSUCHTOKEN", world.a.site, "booking_not_here"),
    ]:
        with pytest.raises(testing.TestingError) as refused:
            testing.tube_scan(actor=None, round_=world.round_, barcode="T9", site=site, code=code)
        assert refused.value.code == expected
    tomorrow = book(world.slot(world.a), world.a.people[2])
    with pytest.raises(testing.TestingError) as refused:
        testing.tube_scan(
            actor=None,
            round_=world.round_,
            barcode="T9",
            site=world.a.site,
            code=tomorrow.qr_payload,
        )
    assert refused.value.code == "booking_other_day"
    services.booking_cancel(token=booking.token, ip=None)
    with pytest.raises(testing.TestingError) as refused:
        testing.tube_scan(
            actor=None,
            round_=world.round_,
            barcode="T9",
            site=world.a.site,
            code=booking.qr_payload,
        )
    assert refused.value.code == "booking_cancelled"
    assert not Sample.objects.exists()


def _sampled_and_reported(world, person, result="negative"):
    slot = world.today_slot(world.a)
    booking = book(slot, person)
    scan = testing.tube_scan(
        actor=None, round_=world.round_, barcode="R1", site=world.a.site, code=booking.qr_payload
    )
    tube = testing.tube_close(actor=None, tube=scan.tube)
    testing.result_record(actor=None, tube=tube, result=result, lab=world.lab)
    return booking


def test_results_lookup_with_a_one_time_code(world):
    person = world.a.people[0]
    _sampled_and_reported(world, person)
    answer = services.lookup_code_send(id_number=person.document_number, ip="2.2.2.2")
    assert sms.outbox[-1][0] == person.phone
    code = last_code()
    lookup = services.lookup_results(id_number=person.document_number, code=code, ip="2.2.2.2")
    assert lookup.name == person.name
    assert [(r.site, r.status, r.label) for r in lookup.results] == [
        (world.a.site.name, "negative", "Negative")
    ]
    # Single use.
    with pytest.raises(errors.DomainError) as refused:
        services.lookup_results(id_number=person.document_number, code=code, ip="2.2.2.2")
    assert refused.value.code == "code_invalid"
    # Asking for a code for a number nobody holds answers the same, and sends nothing.
    sent = len(sms.outbox)
    assert services.lookup_code_send(id_number="110101199003074514", ip="2.2.2.3") == answer
    assert len(sms.outbox) == sent
    entries = AuditEntry.objects.filter(object_type="voluntary.lookup")
    assert list(entries.order_by("id").values_list("changes__outcome", flat=True)) == [
        "code_sent",
        "shown",
        "refused",
        "code_sent",
    ]
    assert entries.filter(changes__outcome="shown").get().jurisdiction_path == person.jpath


def test_a_code_never_opens_someone_elses_results(world):
    mine, theirs = world.a.people[0], world.a.people[1]
    _sampled_and_reported(world, theirs)
    services.lookup_code_send(id_number=mine.document_number, ip="3.3.3.3")
    code = last_code()
    for number in (theirs.document_number, "110101199003074514"):
        with pytest.raises(errors.DomainError) as refused:
            services.lookup_results(id_number=number, code=code, ip="3.3.3.3")
        assert refused.value.code == "code_invalid"
    # The own code still works for its owner, who has no sample.
    own = services.lookup_results(id_number=mine.document_number, code=code, ip="3.3.3.3")
    assert own.name == mine.name and own.results == []


def test_a_code_expires_and_allows_five_tries(world):
    person = world.a.people[0]
    services.lookup_code_send(id_number=person.document_number, ip="4.4.4.4")
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(errors.DomainError):
            services.lookup_results(id_number=person.document_number, code=wrong, ip="4.4.4.4")
    assert LookupCode.objects.get().tries == 5
    with pytest.raises(errors.DomainError) as refused:
        services.lookup_results(id_number=person.document_number, code=code, ip="4.4.4.4")
    assert refused.value.code == "code_invalid"
    services.lookup_code_send(id_number=person.document_number, ip="4.4.4.5")
    fresh = last_code()
    LookupCode.objects.filter(used_at__isnull=True).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(errors.DomainError) as refused:
        services.lookup_results(id_number=person.document_number, code=fresh, ip="4.4.4.5")
    assert refused.value.code == "code_invalid"


def test_pool_positive_reads_as_recheck_not_positive(world):
    person = world.a.people[0]
    _sampled_and_reported(world, person, result="positive")
    lines = services.person_results(person)
    assert [line.status for line in lines] == ["recheck"]


def test_code_requests_are_limited_per_number_and_per_address(world):
    person = world.a.people[0]
    for i in range(3):
        services.lookup_code_send(id_number=person.document_number, ip=f"5.5.5.{i}")
    with pytest.raises(errors.Throttled) as refused:
        services.lookup_code_send(id_number=person.document_number, ip="5.5.5.9")
    assert (refused.value.code, refused.value.status) == ("throttled", 429)
    assert len(sms.outbox) == 3
    with override_settings(VOLUNTARY_LIMITS={"code": {"address": (2, 60)}}):
        services.lookup_code_send(id_number=world.a.people[1].document_number, ip="6.6.6.6")
        services.lookup_code_send(id_number=world.a.people[2].document_number, ip="6.6.6.6")
        with pytest.raises(errors.Throttled):
            services.lookup_code_send(id_number=world.a.people[3].document_number, ip="6.6.6.6")


def test_a_sender_that_fails_leaves_no_code(world):
    with override_settings(SMS_SENDER="fangkong.voluntary.tests.test_services.broken_sender"):
        with pytest.raises(errors.Unavailable):
            services.lookup_code_send(id_number=world.a.people[0].document_number, ip="7.7.7.7")
    assert not LookupCode.objects.exists()


def broken_sender(phone, message):
    raise OSError("gateway down")


def test_schedule_and_slots(world):
    schedule = services.schedule_set(
        actor=world.a.sampler,
        site=world.a.site,
        opens=dt.time(8, 0),
        closes=dt.time(11, 30),
        slot_minutes=60,
        capacity=15,
    )
    slots = services.slots_open(actor=world.a.sampler, schedule=schedule, day=world.tomorrow)
    assert [(s.starts, s.ends, s.capacity) for s in slots] == [
        (dt.time(8), dt.time(9), 15),
        (dt.time(9), dt.time(10), 15),
        (dt.time(10), dt.time(11), 15),
    ]
    assert len(services.slots_open(actor=None, schedule=schedule, day=world.tomorrow)) == 3
    book(slots[0], world.a.people[0])
    book(slots[0], world.a.people[1])
    with pytest.raises(errors.Conflict) as refused:
        services.slot_capacity_set(actor=world.a.sampler, slot=slots[0], capacity=1)
    assert refused.value.code == "below_booked"
    assert services.slot_capacity_set(actor=world.a.hq, slot=slots[0], capacity=2).capacity == 2
    # Another district's staff: not found; a grid worker: forbidden.
    with pytest.raises(errors.NotFound):
        services.slot_capacity_set(actor=world.b.sampler, slot=slots[1], capacity=5)
    with pytest.raises(errors.Forbidden):
        services.schedule_set(
            actor=world.commander.__class__(role="grid_worker", jurisdiction=world.a.district),
            site=world.a.site,
            opens=dt.time(8),
            closes=dt.time(9),
        )


def test_slots_open_from_today_to_two_weeks_ahead(world):
    schedule = services.schedule_set(
        actor=None, site=world.a.site, opens=dt.time(8), closes=dt.time(9)
    )
    for day, code in [
        (world.today - dt.timedelta(days=1), "day_past"),
        (world.today + dt.timedelta(days=15), "day_too_far"),
    ]:
        with pytest.raises(errors.DomainError) as refused:
            services.slots_open(actor=None, schedule=schedule, day=day)
        assert refused.value.code == code
    assert (
        len(
            services.slots_open(
                actor=None, schedule=schedule, day=world.today + dt.timedelta(days=14)
            )
        )
        == 1
    )
