"""Writes of the control module: daily health checks, self-report links and alerts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core import signing
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import errors
from fangkong.common.alerts import alert_raise
from fangkong.common.models import Alert
from fangkong.common.scope import require

from .. import roles
from ..models import ControlOrder, HealthCheck, Site
from ._common import FEVER, TOKEN_SALT, Conflict, ControlError


class SelfReportLinkGone(ControlError):
    """A genuine self-report link that no longer opens: its order ended, or it was revoked."""

    status = 410


def selfreport_token(order: ControlOrder) -> str:
    """The person's link for daily self-reports: signed with SECRET_KEY, naming the order and the
    link's version, so that revoking (a new version) or the order's end closes it."""
    return signing.dumps({"o": order.pk, "v": order.self_report_version}, salt=TOKEN_SALT)


def selfreport_order(token: str) -> ControlOrder:
    """The open order a self-report link opens; NotFound for a forged or malformed link,
    SelfReportLinkGone (410) when the order has ended or the link was revoked."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise errors.NotFound() from None
    if not isinstance(value, dict) or not isinstance(value.get("o"), int):
        raise errors.NotFound()  # the unversioned links of old: never valid again
    order = ControlOrder.objects.filter(pk=value["o"]).select_related("person").first()
    if order is None:
        raise errors.NotFound()
    if order.status != ControlOrder.Status.OPEN or timezone.localdate() > order.end_date:
        raise SelfReportLinkGone(
            _("This self-report link has expired: the control order has ended."),
            code="self_report_expired",
        )
    if value.get("v") != order.self_report_version:
        raise SelfReportLinkGone(
            _("This self-report link was withdrawn; ask your grid worker for the new one."),
            code="self_report_revoked",
        )
    return order


def selfreport_link_check(*, actor, order: ControlOrder) -> ControlOrder:
    """Whether `actor` may be given the order's self-report link: staff who manage orders, and
    only while the order is open (the link closes with it)."""
    require(actor, roles.can_manage_orders)
    if order.status != ControlOrder.Status.OPEN:
        raise Conflict(_("The control order has ended."), code="order_ended")
    return order


def selfreport_revoke(*, actor, order: ControlOrder) -> ControlOrder:
    """Withdraw the order's self-report link (lost phone, wrong recipient); a new link can be
    issued at once and is the only one that opens."""
    require(actor, roles.can_manage_orders)
    with transaction.atomic():
        order = ControlOrder.objects.select_for_update().get(pk=order.pk)
        before = order.self_report_version
        order.self_report_version = before + 1
        order.save(update_fields=["self_report_version"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"self_report_version": [before, order.self_report_version]},
        )
    return order


def health_check_record(
    *, actor, order: ControlOrder, temperature, symptoms: str = "", source: str = "worker", day=None
) -> HealthCheck:
    require(actor, roles.can_manage_orders)
    day = day or timezone.localdate()
    try:
        temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
    except ArithmeticError as exc:
        raise ControlError(_("Enter the temperature in °C, e.g. 36.5.")) from exc
    if not Decimal("34") <= temperature <= Decimal("43"):
        raise ControlError(
            _("A body temperature lies between 34 and 43 °C."), code="temperature_out_of_range"
        )
    if order.status != ControlOrder.Status.OPEN or not order.start_date <= day <= order.end_date:
        raise ControlError(_("The order is not in force on that day."))
    symptoms = symptoms.strip()
    with transaction.atomic():
        check, _created = HealthCheck.objects.update_or_create(
            order=order,
            day=day,
            defaults={
                "temperature": temperature,
                "symptoms": symptoms,
                "source": source,
                "recorded_by": actor if getattr(actor, "is_authenticated", False) else None,
            },
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=check,
            jurisdiction_path=order.jpath,
            changes={"temperature": [None, str(temperature)], "symptoms": [None, symptoms]},
        )
        name = order.person.name
        if temperature >= FEVER:
            _alert_both(
                order,
                day,
                "fever",
                _("Fever %(t)s °C: %(name)s") % {"t": temperature, "name": name},
            )
        if symptoms:
            _alert_both(order, day, "symptom", _("Symptoms reported: %s") % name, body=symptoms)
    return check


def _alert_both(order, day, kind, title, body=""):
    """Alert the person's grid, and the site too when the person is in a room."""
    key = f"control:{order.pk}:{day.isoformat()}:{kind}"
    alert_raise(
        kind=f"control_{kind}",
        title=title,
        body=body,
        jurisdiction_path=order.jpath,
        obj=order,
        dedupe_key=key,
    )
    if order.room_id:
        site_path = Site.objects.filter(rooms=order.room_id).values_list("jpath", flat=True).first()
        alert_raise(
            kind=f"control_{kind}",
            title=title,
            body=body,
            jurisdiction_path=site_path,
            obj=order,
            dedupe_key=key + ":site",
        )


_ALERT_SQL = """
INSERT INTO common_alert
    (kind, level, title, body, jurisdiction_path, object_type, object_id, dedupe_key, created_at)
SELECT %s, %s, %s || p.name, {body}, {path}, 'control.controlorder', CAST(o.id AS varchar(20)),
       'control:' || CAST(o.id AS varchar(20)) || %s, %s
FROM {source}
JOIN people_person p ON p.id = o.person_id
{join}
WHERE {where}
ON CONFLICT DO NOTHING
"""


def daily_alerts_compute(*, day: date) -> dict:
    """Alerts for one finished day over every open order: missed checks, fevers, symptoms.

    A handful of INSERT ... SELECT statements whatever the number of orders; the dedupe key
    makes running it twice harmless."""
    d = connection.ops.adapt_datefield_value(day)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    active = "o.status = 'open' AND o.start_date <= %s AND o.end_date >= %s"
    rules = [
        (
            "missed",
            _("Missed health check: "),
            "control_controlorder o",
            "''",
            f"{active} AND NOT EXISTS (SELECT 1 FROM control_healthcheck h "
            "WHERE h.order_id = o.id AND h.day = %s)",
            [d, d, d],
        ),
        (
            "fever",
            _("Fever: "),
            "control_healthcheck h JOIN control_controlorder o ON o.id = h.order_id",
            "''",
            "h.day = %s AND h.temperature >= 37.3 AND o.status = 'open'",
            [d],
        ),
        (
            "symptom",
            _("Symptoms reported: "),
            "control_healthcheck h JOIN control_controlorder o ON o.id = h.order_id",
            "h.symptoms",
            "h.day = %s AND h.symptoms <> '' AND o.status = 'open'",
            [d],
        ),
    ]
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, title, source, body, where, params in rules:
            total = 0
            for path, join, suffix in (
                ("o.jpath", "", ""),
                (
                    "st.jpath",
                    "JOIN control_room r ON r.id = o.room_id JOIN control_site st ON st.id = r.site_id",
                    ":site",
                ),
            ):
                sql = _ALERT_SQL.format(body=body, path=path, source=source, join=join, where=where)
                cursor.execute(
                    sql,
                    [
                        f"control_{kind}",
                        Alert.Level.WARNING,
                        title,
                        f":{day.isoformat()}:{kind}{suffix}",
                        now,
                        *params,
                    ],
                )
                total += max(cursor.rowcount, 0)
            counts[kind] = total
    return counts
