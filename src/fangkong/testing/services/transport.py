"""Transport and receipt: boxes, hand-over, a lab's receipt and its results."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common.scope import require

from .. import bulk, roles
from ..models import Box, Lab, Result, Site, Tube
from .base import Conflict, TestingError


def box_create(*, actor, code: str, site: Site, lab: Lab | None = None) -> Box:
    require(actor, roles.can_sample)
    if Box.objects.filter(code=code).exists():
        raise Conflict(_("a box with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        box = Box.objects.create(code=code, site=site, lab=lab, jpath=site.jpath)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=box,
            jurisdiction_path=box.jpath,
            changes={"code": code},
        )
    return box


def box_add_tubes(*, actor, box: Box, tubes: list[Tube], at: dt.datetime | None = None) -> int:
    require(actor, roles.can_sample)
    now = at or timezone.now()
    if box.handed_over_at:
        raise TestingError(_("the box has been handed over"))
    with transaction.atomic():
        ids = [t.pk for t in tubes]
        if Tube.objects.filter(pk__in=ids, status=Tube.Status.OPEN).exists():
            raise TestingError(_("close the tubes before boxing them"))
        n = Tube.objects.filter(pk__in=ids, status=Tube.Status.CLOSED).update(
            box=box, status=Tube.Status.BOXED, boxed_at=now
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=box,
            jurisdiction_path=box.jpath,
            changes={"tubes_added": n},
        )
    return n


def box_hand_over(*, actor, box: Box, lab: Lab | None = None, at: dt.datetime | None = None) -> Box:
    require(actor, roles.can_sample)
    now = at or timezone.now()
    with transaction.atomic():
        box.handed_over_at = box.handed_over_at or now
        box.lab = lab or box.lab
        box.save(update_fields=["handed_over_at", "lab"])
        box.tubes.filter(status=Tube.Status.BOXED).update(
            status=Tube.Status.IN_TRANSIT, handed_over_at=now
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=box,
            jurisdiction_path=box.jpath,
            changes={"handed_over_at": now.isoformat()},
        )
    return box


def box_receive(*, actor, box: Box, lab: Lab, at: dt.datetime | None = None) -> int:
    require(actor, roles.can_report)
    now = at or timezone.now()
    with transaction.atomic():
        box.received_at = box.received_at or now
        box.lab = lab
        box.save(update_fields=["received_at", "lab"])
        n = box.tubes.filter(received_at__isnull=True).update(
            status=Tube.Status.RECEIVED, received_at=now, lab=lab
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=box,
            jurisdiction_path=lab.jpath,
            changes={"received_at": now.isoformat(), "tubes": n, "lab": lab.code},
        )
    return n


def tube_receive(*, actor, tube: Tube, lab: Lab, at: dt.datetime | None = None) -> Tube:
    """A lab scans one tube on arrival; scanning it again changes nothing."""
    require(actor, roles.can_report)
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.received_at is not None:
            return tube
        if tube.status == Tube.Status.OPEN:
            raise TestingError(_("the tube is still open"))
        tube.received_at = at or timezone.now()
        tube.lab = lab
        if tube.status != Tube.Status.RESULTED:
            tube.status = Tube.Status.RECEIVED
        tube.save(update_fields=["received_at", "lab", "status"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"received_at": tube.received_at.isoformat(), "lab": lab.code},
        )
    return tube


def result_record(
    *,
    actor,
    tube: Tube,
    result: str,
    lab: Lab,
    reported_at: dt.datetime | None = None,
    tested_at: dt.datetime | None = None,
    ct_orf1ab: Decimal | None = None,
    ct_n: Decimal | None = None,
) -> dict:
    """One tube's result from a lab system. The same result again is harmless; a different one is refused."""
    require(actor, roles.can_report)
    if result not in Result.values:
        raise TestingError(_("the result must be negative, positive or invalid"))
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.result:
            if tube.result == result:
                return {"changed": False, "tube": tube}
            raise Conflict(
                _("the tube is already reported as %(result)s")
                % {"result": tube.get_result_display()}
            )
        if tube.status == Tube.Status.OPEN:
            raise TestingError(_("the tube is still open"))
        now = reported_at or timezone.now()
        tube.result, tube.status, tube.lab = result, Tube.Status.RESULTED, lab
        tube.reported_at, tube.tested_at = now, tested_at or now
        tube.received_at = tube.received_at or tested_at or now
        tube.ct_orf1ab, tube.ct_n = ct_orf1ab, ct_n
        tube.save()
        effects = bulk.apply_results_for([tube.pk])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"result": ["", result], "lab": lab.code, **effects},
        )
    return {"changed": True, "tube": tube, **effects}
