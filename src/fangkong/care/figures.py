"""Care's figures for the daily reports and the HQ dashboard: beds by type, free and taken."""

import datetime as dt

from django.db.models import Count, Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .models import Admission, Bed, BedType


def bed_figures(path: str, day: dt.date) -> dict:
    """Beds of the hospitals inside the subtree at `path`, per type, as they stand now (bed
    states are current, not kept per day: a report signed that day freezes them), and the
    patients in hospital. Two aggregate queries."""
    counts = {
        row["bed_type"]: row
        for row in Bed.objects.filter(facility__jpath__startswith=path)
        .values("bed_type")
        .annotate(
            total=Count("id", filter=~Q(state=Bed.State.OUT_OF_SERVICE)),
            free=Count("id", filter=Q(state=Bed.State.VACANT)),
            occupied=Count("id", filter=Q(state=Bed.State.OCCUPIED)),
        )
        .order_by()
    }
    if not counts:
        return {}
    out: dict = {}
    for bed_type in BedType.values:
        row = counts.get(bed_type, {"total": 0, "free": 0, "occupied": 0})
        out[f"beds_total_{bed_type}"] = row["total"]
        out[f"beds_free_{bed_type}"] = row["free"]
        out[f"beds_occupied_{bed_type}"] = row["occupied"]
    out["patients_in_hospital"] = Admission.objects.filter(
        facility__jpath__startswith=path, status=Admission.Status.ADMITTED
    ).count()
    return out


bed_figures.figure_labels = {
    **{
        f"beds_{kind}_{bed_type}": format_lazy("{} · {}", type_label, label)
        for bed_type, type_label in BedType.choices
        for kind, label in (
            ("total", _("in service")),
            ("free", _("free")),
            ("occupied", _("occupied")),
        )
    },
    "patients_in_hospital": _("Patients in hospital"),
}
