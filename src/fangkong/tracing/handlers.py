"""Subscribers to other modules' events: a single-tube positive or a positive test of a person
under control opens a case. Idempotent, and never allowed to break the publisher's write."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from .models import Case, Classification, FoundBy

log = logging.getLogger(__name__)


def on_person_positive(*, round_id, tube_id, barcode, person_id, at, **_payload) -> Case | None:
    """testing.person_positive: a single-tube re-check came back positive."""
    from fangkong.people.models import Person
    from fangkong.testing.models import Tube

    if Case.objects.filter(person_id=person_id).exists():
        return None
    tube = Tube.objects.filter(pk=tube_id).values("sampled_at", "reported_at").first() or {}
    reported = tube.get("reported_at") or at or timezone.now()
    sampled = tube.get("sampled_at")
    return _open(
        person=Person.objects.get(pk=person_id),
        reported_at=reported,
        sampling_date=timezone.localdate(sampled) if sampled else timezone.localdate(reported),
        found_by=FoundBy.POOL_SCREENING,
        source_tube=barcode or "",
    )


def on_control_test_positive(*, order_id, person_id, **_payload) -> Case | None:
    """control.test_positive: a person under a control order tested positive."""
    from fangkong.people.models import Person

    if Case.objects.filter(person_id=person_id).exists():
        return None
    now = timezone.now()
    return _open(
        person=Person.objects.get(pk=person_id),
        reported_at=now,
        sampling_date=timezone.localdate(now),
        found_by=FoundBy.UNDER_CONTROL,
        under_control_when_found=True,
        notes=f"control order #{order_id}",
    )


def _open(**fields) -> Case | None:
    from .services import TracingError, case_open

    try:
        with transaction.atomic():
            return case_open(actor=None, classification=Classification.ASYMPTOMATIC, **fields)
    except TracingError:
        # Opened concurrently by another path: the case exists, which is all that was wanted.
        log.info("case for person %s not opened", fields["person"].pk, exc_info=True)
        return None
    except Exception:
        # A lab's results must commit even if tracing fails; the positive is still on the
        # testing module's list and its alert, and the log says why no case opened.
        log.exception("case for person %s failed to open", fields["person"].pk)
        return None
