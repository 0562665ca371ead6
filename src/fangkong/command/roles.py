"""Who may do what in the command centre, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup

HQ_ROLES = {Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN}
# Tasks go down from any level: HQ staff, district heads (HQ staff bound lower), inspectors.
DISPATCH_ROLES = HQ_ROLES | {Role.INSPECTOR}
INSPECT_ROLES = {Role.INSPECTOR, Role.COMMANDER, Role.ADMIN}


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_dispatch(user) -> bool:
    return _is(user, DISPATCH_ROLES)


def can_inspect(user) -> bool:
    if _is(user, INSPECT_ROLES):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group == WorkingGroup.INSPECTION


def can_declare(user) -> bool:
    """Response levels, risk areas and their proposals are HQ decisions."""
    return _is(user, HQ_ROLES)


def can_edit_bulletin(user) -> bool:
    """HQ staff (the publicity group among them) draft and edit bulletins."""
    return _is(user, HQ_ROLES)


def can_view_picture(user) -> bool:
    """The command picture (big screen, daily reports): HQ and its inspectors."""
    return _is(user, HQ_ROLES | {Role.INSPECTOR})


def can_view_inspections(user) -> bool:
    return can_inspect(user) or _is(user, HQ_ROLES)


def can_view_risk_areas(user) -> bool:
    """HQ declares them; tracing and the checkpoints screen against them."""
    return _is(user, HQ_ROLES | {Role.EPIDEMIOLOGIST, Role.CHECKPOINT_STAFF, Role.INSPECTOR})


def can_approve_bulletin(user) -> bool:
    """A bulletin goes out only on a commander's approval."""
    return _is(user, {Role.COMMANDER, Role.ADMIN})
