"""Who may do what in mass testing, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup

ROUND_ROLES = {Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN}
SAMPLE_ROLES = {Role.SAMPLER, Role.ADMIN}
REPORT_ROLES = {Role.LAB_STAFF, Role.ADMIN}


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_manage_rounds(user) -> bool:
    if _is(user, {Role.COMMANDER, Role.ADMIN}):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.TESTING)


def can_sample(user) -> bool:
    return _is(user, SAMPLE_ROLES)


def can_report(user) -> bool:
    return _is(user, REPORT_ROLES)


def can_import_samples(user) -> bool:
    return _is(user, SAMPLE_ROLES | ROUND_ROLES)


# Who follows the rounds: HQ, the desks and labs, the grid chasing the untested, tracing, inspectors.
FOLLOW_ROLES = (
    ROUND_ROLES
    | SAMPLE_ROLES
    | REPORT_ROLES
    | {Role.GRID_WORKER, Role.EPIDEMIOLOGIST, Role.INSPECTOR}
)
# Re-checks: the lab and desks do them, the grid fetches its people to them, tracing follows.
RECHECK_ROLES = ROUND_ROLES | SAMPLE_ROLES | REPORT_ROLES | {Role.EPIDEMIOLOGIST, Role.GRID_WORKER}


def can_view_rounds(user) -> bool:
    return _is(user, FOLLOW_ROLES)


def can_view_rechecks(user) -> bool:
    return _is(user, RECHECK_ROLES)


# Test orders for one person: HQ and tracing place them, the grid for its own people (a
# screening finding places one as the system); samplers work the list.
ORDER_ROLES = ROUND_ROLES | {Role.EPIDEMIOLOGIST, Role.GRID_WORKER}


def can_order_tests(user) -> bool:
    return _is(user, ORDER_ROLES)


def can_view_test_orders(user) -> bool:
    return _is(user, ORDER_ROLES | SAMPLE_ROLES)
