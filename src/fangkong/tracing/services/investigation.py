"""Writes of the tracing module: the investigation (activities, exposures, travel)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common.scope import require

from .. import roles
from ..models import Activity, Case, Exposure, Setting, Travel
from ._common import TracingError


def activity_add(
    *,
    actor,
    case: Case,
    setting: str,
    place: str,
    start: dt.datetime,
    end: dt.datetime | None = None,
    address: str = "",
    companions: str = "",
    public: bool = False,
    place_jpath: str = "",
) -> Activity:
    require(actor, roles.can_investigate)
    if setting not in Setting.values:
        raise TracingError(_("Unknown setting: %s") % setting)
    if not place.strip():
        raise TracingError(_("Name the place."))
    if end is not None and end < start:
        raise TracingError(_("An activity cannot end before it starts."), code="ends_before_start")
    with transaction.atomic():
        activity = Activity.objects.create(
            case=case,
            setting=setting,
            place=place.strip(),
            address=address,
            start=start,
            end=end,
            companions=companions,
            public=public,
            place_jpath=place_jpath or case.jpath,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=activity,
            jurisdiction_path=case.jpath,
            changes={"place": [None, activity.place], "start": [None, start.isoformat()]},
        )
    return activity


def exposure_add(
    *,
    actor,
    case: Case,
    setting: str,
    place: str = "",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    source_case: Case | None = None,
    notes: str = "",
) -> Exposure:
    if setting not in Setting.values:
        raise TracingError(_("Unknown setting: %s") % setting)
    if source_case is not None and source_case.pk == case.pk:
        raise TracingError(_("A case cannot be its own source."))
    if start and end and end < start:
        raise TracingError(_("An exposure cannot end before it starts."), code="ends_before_start")
    with transaction.atomic():
        exposure = Exposure.objects.create(
            case=case,
            setting=setting,
            place=place,
            start=start,
            end=end,
            source_case=source_case,
            notes=notes,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=exposure,
            jurisdiction_path=case.jpath,
            changes={
                "setting": [None, setting],
                "source_case": [None, getattr(source_case, "pk", None)],
            },
        )
    return exposure


def travel_add(
    *,
    actor,
    case: Case,
    origin: str,
    destination: str,
    departed_at,
    arrived_at=None,
    mode="",
    reference="",
) -> Travel:
    require(actor, roles.can_investigate)
    if arrived_at and arrived_at < departed_at:
        raise TracingError(_("A journey cannot arrive before it departs."))
    with transaction.atomic():
        travel = Travel.objects.create(
            case=case,
            origin=origin,
            destination=destination,
            departed_at=departed_at,
            arrived_at=arrived_at,
            mode=mode,
            reference=reference,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=travel,
            jurisdiction_path=case.jpath,
            changes={"route": [None, f"{origin}→{destination}"]},
        )
    return travel
