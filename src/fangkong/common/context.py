"""Template context: the navigation, one entry per module that exists, and the user's permissions."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.accounts.roles import can_import_people, can_read_audit, can_see_pii
from fangkong.control.roles import can_manage_orders
from fangkong.testing.roles import can_report, can_sample
from fangkong.tracing.roles import can_run_colocation, can_work_leads

# (url name, label, who sees it); later modules add their entries here as they are built.
MODULES = [
    ("home", _("Overview"), None),
    ("analytics:dashboard", _("HQ dashboard"), None),
    ("analytics:situation", _("Situation analysis"), None),
    ("geo:tree", _("Jurisdictions"), None),
    ("people:search", _("Population"), None),
    ("people:import", _("Import"), can_import_people),
    ("testing:rounds", pgettext_lazy("module", "Testing"), None),
    ("testing:scanner", _("Scanner"), can_sample),
    ("testing:lab", _("Lab"), can_report),
    ("testing:rechecks", _("Re-checks"), None),
    ("tracing:cases", _("Cases"), None),
    ("tracing:worklist", _("Lead worklist"), can_work_leads),
    ("tracing:chains", _("Transmission chains"), None),
    ("tracing:colocation", _("Big-data co-location"), can_run_colocation),
    ("control:board", _("Control board"), None),
    ("control:checks", _("Daily health checks"), can_manage_orders),
    ("care:overview", _("Bed board"), None),
    ("checkpoints:register", _("Checkpoint registration"), None),
    ("checkpoints:transfers", _("Transfers"), None),
    ("command:tasks", _("Tasks"), None),
    ("command:inspections", _("Inspections"), None),
    ("command:risk-areas", _("Risk areas"), None),
    ("command:response-level", _("Response level"), None),
    ("command:reports", _("Daily reports"), None),
    ("command:bulletins", _("Bulletins"), None),
    ("supplies:overview", _("Supplies"), None),
    ("supplies:requests", _("Supply requests"), None),
    ("common:alerts", _("Alert centre"), None),
    ("audit:list", _("Audit log"), can_read_audit),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    entries = []
    for name, label, allowed in MODULES:
        if allowed is not None and not allowed(user):
            continue
        try:
            entries.append({"url": reverse(name), "label": label, "active": False})
        except NoReverseMatch:
            continue
    # The longest entry URL that prefixes the path is the current module ("/" only for itself).
    matches = [
        e
        for e in entries
        if request.path == e["url"] or (e["url"] != "/" and request.path.startswith(e["url"]))
    ]
    if matches:
        max(matches, key=lambda e: len(e["url"]))["active"] = True
    return {"nav_entries": entries, "may_see_pii": can_see_pii(user)}
