"""Who may do what in resumption and readiness, decided in one place from the account roles."""

from fangkong.accounts.roles import Role

DECIDE_ROLES = {Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN}
FILE_ROLES = {Role.ENTERPRISE_STAFF, Role.ADMIN}
READ_ROLES = DECIDE_ROLES | {Role.ENTERPRISE_STAFF, Role.INSPECTOR, Role.AUDITOR}
# The readiness page is the command centre's: HQ, inspectors and auditors read it.
READINESS_ROLES = DECIDE_ROLES | {Role.INSPECTOR, Role.AUDITOR}


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_decide(user) -> bool:
    """Approve or return applications; register organisations and bind their officers."""
    return _is(user, DECIDE_ROLES)


def can_file(user) -> bool:
    """File applications and register the workforce (for an organisation one is an officer of)."""
    return _is(user, FILE_ROLES)


def can_read(user) -> bool:
    return _is(user, READ_ROLES)


def is_officer_only(user) -> bool:
    """An enterprise or school officer sees their own organisations, not the whole node."""
    return (
        bool(getattr(user, "is_authenticated", False))
        and not user.is_superuser
        and user.role == Role.ENTERPRISE_STAFF
    )


def can_read_readiness(user) -> bool:
    return _is(user, READINESS_ROLES)
