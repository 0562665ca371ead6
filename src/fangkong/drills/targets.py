"""The targets a drill is scored against, from the national plans (shared/DOMAIN.md) and the
reporting law, as data: a jurisdiction's command centre changes a number here, not the code."""

from django.utils.translation import gettext_lazy as _

# key: (label, target hours or share, how it is compared)
TARGETS = {
    # Infectious-disease direct reporting: a Class A (or managed as A) case within 2 hours.
    "visit_to_report": (_("First visit → report within 2 h"), 2.0),
    "report_to_diagnosis": (_("Report → diagnosis within 12 h"), 12.0),
    "onset_to_isolation": (_("Onset → isolation within 48 h"), 48.0),
    # Close contacts identified and under control within 24 hours of the case's report.
    "contacts_controlled": (_("Contacts under control within 24 h of the report"), 24.0),
    # From March 2022 a designated area finishes a round within 24 hours.
    "round_completion": (_("Test round complete (≥ 99 %) within 24 h"), 24.0),
    # Every centralized-isolation order has its room.
    "rooms_assigned": (_("Centralized orders with a room"), 100.0),
    "tasks_on_time": (_("Tasks closed by their deadline"), 100.0),
}

ROUND_COMPLETE_PERCENT = 99.0


def label(key: str) -> str:
    return str(TARGETS[key][0])


def target(key: str) -> float:
    return TARGETS[key][1]
