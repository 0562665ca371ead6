"""The national policy presets (shared/DOMAIN.md), shipped as data and ensured idempotently.

Rows are (category, [(measure, days, test days of that step), ...]); a category with no steps
is "not identified" under that policy, and opening such an order is refused. Rules for the
categories the national tables do not list (arrivals, pool members, the released, returning
workers) are the common local practice of the time and can be edited as a new version.
"""

C, HI, HM, SM = "centralized", "home_isolation", "home_monitoring", "self_monitoring"

PRESETS = {
    "plan-ed8": (
        "Prevention and control plan, 8th edition (May 2021)",
        {
            "close_contact": [(C, 14, [1, 4, 7, 14]), (HM, 7, [2, 7])],
            "secondary_contact": [(C, 7, [1, 4, 7])],
            "inbound": [(C, 14, [1, 4, 7, 14]), (HM, 7, [2, 7])],
            "risk_area": [(HI, 14, [1, 4, 7, 14])],
            "risk_area_high": [(C, 14, [1, 4, 7, 14])],
            "positive_pool": [(HI, 3, [1, 2, 3])],
            "released": [(HM, 7, [2, 7])],
            "returning": [(SM, 14, [1])],
        },
    ),
    "plan-ed9": (
        "Prevention and control plan, 9th edition (June 2022)",
        {
            "close_contact": [(C, 7, [1, 2, 3, 5, 7]), (HM, 3, [3])],
            "secondary_contact": [(HI, 7, [1, 4, 7])],
            "inbound": [(C, 7, [1, 2, 3, 5, 7]), (HM, 3, [3])],
            "risk_area": [(HI, 7, [1, 4, 7])],
            "risk_area_high": [(C, 7, [1, 2, 3, 5, 7])],
            "positive_pool": [(HI, 3, [1, 2, 3])],
            "released": [(HM, 7, [3, 7])],
            "returning": [(SM, 7, [1])],
        },
    ),
    "nov-2022": (
        "Twenty measures (November 2022)",
        {
            "close_contact": [(C, 5, [1, 2, 3, 5]), (HI, 3, [1, 3])],
            "secondary_contact": [],
            "inbound": [(C, 5, [1, 2, 3, 5]), (HI, 3, [1, 3])],
            "risk_area": [(HI, 5, [1, 3, 5])],
            "risk_area_high": [(HI, 7, [1, 3, 5, 7])],
            "positive_pool": [(HI, 3, [1, 2, 3])],
            "released": [(HM, 3, [3])],
            "returning": [(SM, 5, [1])],
        },
    ),
}
DEFAULT_PRESET = "plan-ed9"


def policy_presets_ensure(apps=None) -> None:
    """Create version 1 of each preset unless it exists (safe to run again)."""
    if apps is None:
        from .models import Policy, PolicyStep
    else:
        Policy = apps.get_model("control", "Policy")
        PolicyStep = apps.get_model("control", "PolicyStep")
    for code, (name, rules) in PRESETS.items():
        policy, created = Policy.objects.get_or_create(
            code=code, version=1, defaults={"name": name, "preset": True}
        )
        if not created:
            continue
        PolicyStep.objects.bulk_create(
            PolicyStep(policy=policy, category=category, seq=seq, measure=m, days=d, test_days=t)
            for category, steps in rules.items()
            for seq, (m, d, t) in enumerate(steps, start=1)
        )
