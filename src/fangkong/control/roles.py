"""Who may do what in the control module, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_manage_orders(user) -> bool:
    if _is(
        user,
        {
            Role.COMMANDER,
            Role.ADMIN,
            Role.GRID_WORKER,
            Role.EPIDEMIOLOGIST,
            Role.ISOLATION_STAFF,
            Role.CHECKPOINT_STAFF,
        },
    ):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.ISOLATION)


def can_manage_rooms(user) -> bool:
    if _is(user, {Role.COMMANDER, Role.ADMIN, Role.ISOLATION_STAFF}):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.ISOLATION)


def can_view_board(user) -> bool:
    """The control board (people under control, isolation rooms): who manages them, inspectors."""
    return can_manage_orders(user) or can_manage_rooms(user) or _is(user, {Role.INSPECTOR})


def can_manage_policy(user) -> bool:
    return _is(user, {Role.COMMANDER, Role.ADMIN}) or (
        _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.ISOLATION)
    )
