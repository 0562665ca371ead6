"""Writes of the command centre: units."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from fangkong.audit.services import audit_created

from .. import roles
from ..models import Unit
from ._common import CommandRefused, _require, _within


def unit_create(*, actor, name: str, kind: str, jurisdiction, working_group: str = "") -> Unit:
    _require(actor is None or roles.can_declare(actor))
    if actor is not None:
        _within(actor, jurisdiction.path)
    if working_group and kind != Unit.Kind.WORKING_GROUP:
        raise CommandRefused(_("only a working group has a working-group code"))
    with transaction.atomic():
        unit, created = Unit.objects.get_or_create(
            jurisdiction=jurisdiction,
            name=name,
            defaults={"kind": kind, "path": jurisdiction.path, "working_group": working_group},
        )
        if created:
            audit_created(
                actor=actor, obj=unit, fields={"name": name, "kind": kind, "path": unit.path}
            )
    return unit
