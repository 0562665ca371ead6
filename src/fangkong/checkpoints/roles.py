"""Who may do what in the checkpoints module, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_register(user) -> bool:
    """Register arrivals at a checkpoint."""
    return _is(user, {Role.CHECKPOINT_STAFF, Role.COMMANDER, Role.ADMIN})


def can_transfer(user) -> bool:
    """Create and move closed-loop transfers, and check passengers in at the site."""
    if _is(user, {Role.CHECKPOINT_STAFF, Role.ISOLATION_STAFF, Role.COMMANDER, Role.ADMIN}):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.ISOLATION)
