"""Who may do what in door-to-door screening, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_open(user) -> bool:
    """Open, close and re-plan campaigns, re-assign households (HQ and the districts)."""
    if _is(user, {Role.COMMANDER, Role.ADMIN}):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.TRACING)


def can_visit(user) -> bool:
    """Record visits at the door: the grid workers."""
    return _is(user, {Role.GRID_WORKER, Role.ADMIN})


def can_follow(user) -> bool:
    """See campaigns and their coverage."""
    return _is(
        user,
        {
            Role.COMMANDER,
            Role.HQ_STAFF,
            Role.EPIDEMIOLOGIST,
            Role.GRID_WORKER,
            Role.INSPECTOR,
            Role.ADMIN,
        },
    )
