"""Who may do what with key places, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup

MANAGE_ROLES = {Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN}
# Roles that see the places of their subtree (a place's own staff see only their places).
VIEW_ROLES = MANAGE_ROLES | {
    Role.EPIDEMIOLOGIST,
    Role.GRID_WORKER,
    Role.INSPECTOR,
    Role.CHECKPOINT_STAFF,
    Role.AUDITOR,
}
# Who reads a place's visitor list (tracing work; the numbers are masked for the others).
VISITOR_ROLES = {Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN, Role.EPIDEMIOLOGIST}


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_view_places(user) -> bool:
    return _is(user, VIEW_ROLES | {Role.PLACE_STAFF})


def is_place_staff(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == Role.PLACE_STAFF


def can_manage_places(user) -> bool:
    """Register places, bind their staff, order closures and restrictions."""
    return _is(user, MANAGE_ROLES)


def can_record_duties(user) -> bool:
    """A place's own staff record its daily duty checks (the selector binds them to their
    places); an inspector or HQ may record one on the spot."""
    return _is(user, {Role.PLACE_STAFF, Role.INSPECTOR} | MANAGE_ROLES)


def can_read_visitors(user) -> bool:
    if _is(user, VISITOR_ROLES - {Role.HQ_STAFF}):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.TRACING)
