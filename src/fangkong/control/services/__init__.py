"""Writes of the control module: policies, control orders, tests, health checks, rooms.

One module per section; this package re-exports them all, so `services.control_order_open` and
`from fangkong.control.services import ControlError` read as before the split. A test that
patches a name patches it in the section module that looks it up."""

from ._common import FEVER, TOKEN_SALT, Conflict, ControlError, NoRoom
from .health import (
    SelfReportLinkGone,
    daily_alerts_compute,
    health_check_record,
    selfreport_link_check,
    selfreport_order,
    selfreport_revoke,
    selfreport_token,
)
from .orders import (
    control_order_open,
    control_order_release,
    control_order_request,
    control_orders_advance,
    control_orders_migrate,
    control_test_record,
    release_blockers,
)
from .policies import (
    Plan,
    local_day,
    plan_compute,
    policy_choose,
    policy_for,
    policy_rule,
    policy_version_create,
)
from .rooms import (
    control_order_cancel,
    room_assign,
    room_check_in,
    room_check_out,
    room_state_set,
    room_walk_in,
    rooms_assign_batch,
    rooms_assign_open,
    site_create,
    walk_in_categories,
)

__all__ = [
    "Conflict",
    "ControlError",
    "FEVER",
    "NoRoom",
    "Plan",
    "SelfReportLinkGone",
    "TOKEN_SALT",
    "control_order_cancel",
    "control_order_open",
    "control_order_release",
    "control_order_request",
    "control_orders_advance",
    "control_orders_migrate",
    "control_test_record",
    "daily_alerts_compute",
    "health_check_record",
    "local_day",
    "plan_compute",
    "policy_choose",
    "policy_for",
    "policy_rule",
    "policy_version_create",
    "release_blockers",
    "room_assign",
    "room_check_in",
    "room_check_out",
    "room_state_set",
    "room_walk_in",
    "walk_in_categories",
    "rooms_assign_batch",
    "rooms_assign_open",
    "selfreport_link_check",
    "selfreport_order",
    "selfreport_revoke",
    "selfreport_token",
    "site_create",
]
