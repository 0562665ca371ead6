"""Who may do what in tracing, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def _tracing_group(user) -> bool:
    return _is(user, {Role.HQ_STAFF}) and user.working_group in ("", WorkingGroup.TRACING)


def can_investigate(user) -> bool:
    """Open and edit cases, record the investigation, add contacts, name clusters."""
    return _is(user, {Role.EPIDEMIOLOGIST, Role.COMMANDER, Role.ADMIN}) or _tracing_group(user)


def can_work_leads(user) -> bool:
    """Verify or exclude leads and put them under control: the grid on foot, and tracing."""
    return can_investigate(user) or _is(user, {Role.GRID_WORKER})


def can_view_cases(user) -> bool:
    """The case list: tracing, HQ, the hospitals treating them, inspectors."""
    return can_investigate(user) or _is(user, {Role.HQ_STAFF, Role.HOSPITAL_STAFF, Role.INSPECTOR})


def can_view_chains(user) -> bool:
    return can_investigate(user) or _is(user, {Role.HQ_STAFF})


def can_run_colocation(user) -> bool:
    return _is(user, {Role.EPIDEMIOLOGIST, Role.ADMIN}) or _tracing_group(user)
