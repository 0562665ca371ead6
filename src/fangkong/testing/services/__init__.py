"""Writes of mass testing: rounds, sites, labs, scanning, boxes, receipt, results; planning rules."""

from __future__ import annotations

from .base import Conflict, TestingError
from .frequency import Proposal, frequency_next, frequency_propose, rotation_plan
from .orders import test_order_place
from .planning import (
    VALIDATED_POOL_SIZES,
    PlanRow,
    area_prevalence,
    dorfman_tests_per_person,
    plan_numbers,
    plan_round,
    recommended_pool_size,
)
from .scanning import (
    ISOLATED_IN_POOL,
    MONITORED_IN_POOL,
    Scan,
    desk_scan,
    person_by_code,
    pool_size_for,
    scan_in_one,
    scan_number,
    tube_close,
    tube_scan,
)
from .setup import exemption_add, exemptions_from_tags, lab_create, round_create, site_create
from .transport import (
    box_add_tubes,
    box_create,
    box_hand_over,
    box_receive,
    result_record,
    tube_receive,
)
from .turnaround import turnaround_state

__all__ = [
    "test_order_place",
    "Conflict",
    "ISOLATED_IN_POOL",
    "MONITORED_IN_POOL",
    "PlanRow",
    "Proposal",
    "Scan",
    "TestingError",
    "box_add_tubes",
    "box_create",
    "box_hand_over",
    "box_receive",
    "desk_scan",
    "exemption_add",
    "exemptions_from_tags",
    "frequency_next",
    "frequency_propose",
    "lab_create",
    "person_by_code",
    "plan_numbers",
    "VALIDATED_POOL_SIZES",
    "area_prevalence",
    "dorfman_tests_per_person",
    "recommended_pool_size",
    "plan_round",
    "pool_size_for",
    "result_record",
    "rotation_plan",
    "round_create",
    "scan_in_one",
    "scan_number",
    "site_create",
    "tube_close",
    "tube_receive",
    "tube_scan",
    "turnaround_state",
]
