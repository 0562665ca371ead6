"""Who may do what in the care module, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def can_manage_care(user) -> bool:
    """Admit, move and discharge patients and change bed states."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.role in {Role.COMMANDER, Role.ADMIN, Role.HOSPITAL_STAFF}:
        return True
    return user.role == Role.HQ_STAFF and user.working_group in ("", WorkingGroup.TREATMENT)


def can_view_care(user) -> bool:
    """The bed board: treatment, HQ, tracing (where its cases lie), inspectors."""
    if can_manage_care(user):
        return True
    return user.role in {Role.HQ_STAFF, Role.EPIDEMIOLOGIST, Role.INSPECTOR}
