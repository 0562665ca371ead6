"""A person's current state across the modules, for the person page: tested, under control,
a case, a lead. The person was fetched through the guard; each row links into its module."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _


def person_status(*, actor, person) -> list[dict]:
    from fangkong.control.models import ControlOrder
    from fangkong.testing.models import Sample
    from fangkong.tracing.models import Case, Contact

    rows = []
    sample = (
        Sample.objects.filter(person_id=person.pk)
        .select_related("tube", "round")
        .order_by("-sampled_at")
        .first()
    )
    if sample is None:
        rows.append({"key": "test", "label": _("Last test"), "value": _("never sampled")})
    else:
        tube = sample.tube
        result = tube.get_result_display() if tube.result else _("awaiting result")
        rows.append(
            {
                "key": "test",
                "label": _("Last test"),
                "value": f"{timezone.localtime(sample.sampled_at):%Y-%m-%d %H:%M} · "
                f"{sample.round.name} · {tube.barcode} · {result}",
                "level": "error" if tube.result == "positive" else "",
            }
        )
    order = (
        ControlOrder.objects.filter(person_id=person.pk, status=ControlOrder.Status.OPEN)
        .select_related("room", "room__site")
        .first()
    )
    if order is None:
        rows.append({"key": "control", "label": _("Control"), "value": _("not under control")})
    else:
        where = f" · {order.room.site.name} {order.room.number}" if order.room_id else ""
        rows.append(
            {
                "key": "control",
                "label": _("Control"),
                "value": f"{order.get_measure_display()} · {order.get_category_display()} · "
                f"{order.start_date:%m-%d} – {order.end_date:%m-%d}{where}",
                "url": reverse("control:site", args=[order.room.site_id]) if order.room_id else "",
                "level": "warning",
            }
        )
    case = Case.objects.filter(person_id=person.pk).order_by("-reported_at").first()
    if case is not None:
        rows.append(
            {
                "key": "case",
                "label": _("Case"),
                "value": f"{case.code} · {case.get_classification_display()}",
                "url": reverse("tracing:case", args=[case.pk]),
                "level": "error",
            }
        )
    contact = Contact.objects.filter(person_id=person.pk).first()
    if contact is not None:
        rows.append(
            {
                "key": "lead",
                "label": _("Lead"),
                "value": f"{contact.get_kind_display()} · {contact.get_state_display()}",
                "url": reverse("tracing:worklist") + f"#lead-{contact.pk}",
            }
        )
    return rows
