"""Who may do what in the vaccination module, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_record_dose(user) -> bool:
    """Record a dose given at a site (the vaccinator's work)."""
    return _signed_in(user) and (user.is_superuser or user.role in {Role.VACCINATOR, Role.ADMIN})


def can_import_doses(user) -> bool:
    """Import the vaccination system's file of doses."""
    return _signed_in(user) and (
        user.is_superuser or user.role in {Role.VACCINATOR, Role.ADMIN, Role.HQ_STAFF}
    )


def can_manage_sites(user) -> bool:
    return _signed_in(user) and (
        user.is_superuser or user.role in {Role.ADMIN, Role.COMMANDER, Role.HQ_STAFF}
    )


def can_work_lists(user) -> bool:
    """The unvaccinated and overdue lists: the grid workers who knock on the doors, the
    vaccination staff who book them, and the command that chases the figures."""
    return _signed_in(user) and (
        user.is_superuser
        or user.role
        in {Role.GRID_WORKER, Role.VACCINATOR, Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN}
    )


def can_report_aefi(user) -> bool:
    """Report an adverse event after vaccination and follow it up."""
    if not _signed_in(user):
        return False
    if user.is_superuser or user.role in {Role.VACCINATOR, Role.HOSPITAL_STAFF, Role.ADMIN}:
        return True
    return user.role == Role.HQ_STAFF and user.working_group == WorkingGroup.TREATMENT


def can_read_aefi(user) -> bool:
    return can_report_aefi(user) or (
        _signed_in(user) and user.role in {Role.COMMANDER, Role.HQ_STAFF}
    )
