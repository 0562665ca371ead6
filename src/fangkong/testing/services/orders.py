"""Test orders for one person: put on the due-test list with a reason and a deadline."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.audit.services import audit_created, audit_updated
from fangkong.common import errors
from fangkong.common.scope import path_within, require

from .. import roles
from ..models import TestOrder
from .base import TestingError

DEFAULT_HOURS = 24


def test_order_place(
    *,
    actor,
    person,
    reason: str,
    due_by: dt.datetime | None = None,
    source: str = "",
    now: dt.datetime | None = None,
) -> tuple[TestOrder, bool]:
    """Put `person` on the due-test list; (order, True) when placed, (the open order, False)
    when one is open already (its deadline moved earlier if this one is sooner). Actor None is
    the system (a screening finding); a user must be allowed to order tests in the person's
    subtree (404 outside it)."""
    require(actor, roles.can_order_tests)
    if actor is not None and not path_within(actor, person.jpath):
        raise errors.NotFound()
    if reason not in TestOrder.Reason.values:
        raise TestingError(_("Unknown reason for a test order."), code="test_order_reason")
    now = now or timezone.now()
    due_by = due_by or now + dt.timedelta(hours=DEFAULT_HOURS)
    if due_by <= now:
        raise TestingError(_("The deadline is already past."), code="test_order_past")
    user = actor if getattr(actor, "is_authenticated", False) else None
    for _attempt in range(2):
        try:
            with transaction.atomic():
                open_order = (
                    TestOrder.objects.select_for_update()
                    .filter(person=person, status=TestOrder.Status.OPEN)
                    .first()
                )
                if open_order is not None:
                    if due_by < open_order.due_by:
                        before = {"due_by": open_order.due_by}
                        open_order.due_by = due_by
                        open_order.save(update_fields=["due_by"])
                        audit_updated(
                            actor=actor, obj=open_order, before=before, after={"due_by": due_by}
                        )
                    return open_order, False
                order = TestOrder.objects.create(
                    person=person,
                    jpath=person.jpath,
                    reason=reason,
                    source=source[:64],
                    due_by=due_by,
                    created_at=now,
                    created_by=user,
                )
                audit_created(
                    actor=actor,
                    obj=order,
                    fields={"person": person.pk, "reason": reason, "due_by": due_by},
                )
                return order, True
        except IntegrityError:  # placed meanwhile by another request: read it next time
            continue
    raise errors.Conflict(_("The test order changed meanwhile; try again."))


test_order_place.__test__ = False  # a service, not a pytest test when imported into one
