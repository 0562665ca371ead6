"""Writes of the tracing module: cases and their history, the investigation, contacts and their
leads (candidate → pushed → verified → under control, or excluded), cluster events.

One module per section; this package re-exports them all, so `services.case_open` and
`from fangkong.tracing.services import LOCAL` read as before the split. A test that patches a
name patches it in the section module that looks it up."""

from ._common import LOCAL, Conflict, TracingError
from .cases import (
    DEFAULT_LOOKBACK_DAYS,
    FIVE_EARLIES,
    LOOKBACK_DAYS,
    RECLASSIFY,
    case_open,
    case_reclassify,
    case_severity_set,
    case_times_set,
    case_window_set,
    lookback_days,
    window_derive,
)
from .clusters import CLUSTER_MIN_CASES, case_cluster_assign, cluster_event_create
from .investigation import activity_add, exposure_add, travel_add
from .leads import (
    CATEGORY_OF_KIND,
    LEAD_EXPORT_COLUMNS,
    OPEN_LEAD_STATES,
    contact_add,
    lead_control,
    lead_exclude,
    lead_merge,
    lead_verify,
    leads_export,
    leads_push,
)

__all__ = [
    "CATEGORY_OF_KIND",
    "CLUSTER_MIN_CASES",
    "Conflict",
    "DEFAULT_LOOKBACK_DAYS",
    "FIVE_EARLIES",
    "LEAD_EXPORT_COLUMNS",
    "LOCAL",
    "LOOKBACK_DAYS",
    "OPEN_LEAD_STATES",
    "RECLASSIFY",
    "TracingError",
    "activity_add",
    "case_cluster_assign",
    "case_open",
    "case_reclassify",
    "case_severity_set",
    "case_times_set",
    "case_window_set",
    "cluster_event_create",
    "contact_add",
    "exposure_add",
    "lead_control",
    "lead_exclude",
    "lead_merge",
    "lead_verify",
    "leads_export",
    "leads_push",
    "lookback_days",
    "travel_add",
    "window_derive",
]
