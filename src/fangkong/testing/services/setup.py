"""Setting a round up: the round, its sites and labs, who is sampled at home."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common.scope import require
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import Person

from .. import roles
from ..models import Exemption, Lab, Round, RoundScope, Site
from .base import Conflict, TestingError


def round_create(
    *,
    actor,
    code: str,
    name: str,
    scope: list[Jurisdiction],
    pool_size: int = 10,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    pooling: dict | None = None,
    target: str = "everyone",
    warning_hours: int | None = None,
    breach_hours: int | None = None,
) -> Round:
    require(actor, roles.can_manage_rounds)
    if not scope:
        raise TestingError(_("a round needs at least one jurisdiction in its scope"))
    if not 1 <= pool_size <= 20:
        raise TestingError(_("the pool size must be between 1 and 20"))
    if Round.objects.filter(code=code).exists():
        raise Conflict(_("a round with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        round_ = Round.objects.create(
            code=code,
            name=name,
            pool_size=pool_size,
            starts_at=starts_at,
            ends_at=ends_at,
            pooling=pooling or {},
            target=target,
            warning_hours=warning_hours,
            breach_hours=breach_hours,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        RoundScope.objects.bulk_create(
            [RoundScope(round=round_, jurisdiction=node, path=node.path) for node in scope]
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=round_,
            jurisdiction_path=min(n.path for n in scope),
            changes={
                "code": code,
                "name": name,
                "scope": [n.code for n in scope],
                "pool_size": pool_size,
            },
        )
    return round_


def site_create(
    *,
    actor,
    code: str,
    name: str,
    jurisdiction: Jurisdiction,
    kind: str = Site.Kind.FIXED,
    grids: list[Jurisdiction] | None = None,
    desks: int = 1,
    samplers: int = 2,
    opening_hours: str = "",
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> Site:
    require(actor, roles.can_manage_rounds)
    if Site.objects.filter(code=code).exists():
        raise Conflict(_("a site with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        site = Site.objects.create(
            code=code,
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            desks=desks,
            samplers=samplers,
            opening_hours=opening_hours,
            address=address,
            latitude=latitude,
            longitude=longitude,
        )
        if grids:
            site.grids.set(grids)
        audit_created(
            actor=actor,
            obj=site,
            fields={"code": code, "name": name, "jurisdiction": jurisdiction.code},
        )
        # audit_created takes the path from the object; sites keep theirs in jpath.
    return site


def lab_create(
    *, actor, code: str, name: str, jurisdiction: Jurisdiction, daily_capacity: int = 0
) -> Lab:
    require(actor, roles.can_manage_rounds)
    if Lab.objects.filter(code=code).exists():
        raise Conflict(_("a lab with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        lab = Lab.objects.create(
            code=code,
            name=name,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            daily_capacity=daily_capacity,
        )
        audit_created(actor=actor, obj=lab, fields={"code": code, "daily_capacity": daily_capacity})
    return lab


def exemption_add(
    *, actor, round_: Round, person: Person, reason: str, home_visit: bool = True
) -> Exemption:
    """Take someone off the sampling points' list (bedridden: a home-visit team samples them)."""
    with transaction.atomic():
        exemption, created = Exemption.objects.update_or_create(
            round=round_, person=person, defaults={"reason": reason, "home_visit": home_visit}
        )
        audit_record(
            actor=actor,
            action=Action.CREATE if created else Action.UPDATE,
            obj=round_,
            jurisdiction_path=person.jpath,
            changes={"exemption": person.pk, "reason": reason, "home_visit": home_visit},
        )
    return exemption


def exemptions_from_tags(*, actor, round_: Round) -> int:
    """Every bedridden person in the round's scope is sampled at home: one set-based insert."""
    from fangkong.people.models import Tag

    scope = Q(pk__in=[])
    for path in round_.scope_nodes.values_list("path", flat=True):
        scope |= Q(jpath__startswith=path)
    bedridden = (
        Person.objects.filter(scope)
        .annotate(bed=F("tags").bitand(Tag.BEDRIDDEN.value))
        .filter(bed__gt=0)
        .exclude(pk__in=Exemption.objects.filter(round=round_).values("person_id"))
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        made = Exemption.objects.bulk_create(
            [
                Exemption(round=round_, person_id=pk, reason=_("bedridden"), home_visit=True)
                for pk in bedridden.iterator()
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=round_,
            jurisdiction_path=min(round_.scope_nodes.values_list("path", flat=True), default="/"),
            changes={"exemptions_bedridden": len(made)},
        )
    return len(made)
