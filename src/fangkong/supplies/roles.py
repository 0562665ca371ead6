"""Who may do what with supplies, decided in one place from the account roles."""

from fangkong.accounts.roles import Role, WorkingGroup


def _is(user, roles) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in roles
    )


def can_manage_stock(user) -> bool:
    """Record receipts, issues, transfers and stock-takes, and allocate against requests."""
    if _is(user, {Role.SUPPLY_OFFICER, Role.ADMIN}):
        return True
    return _is(user, {Role.HQ_STAFF}) and user.working_group == WorkingGroup.SUPPLIES


def can_report_output(user) -> bool:
    return can_manage_stock(user)


def can_view_stock(user) -> bool:
    """Stocks, warehouses and enterprise output: the supply group, HQ, inspectors."""
    return can_manage_stock(user) or _is(
        user, {Role.COMMANDER, Role.HQ_STAFF, Role.INSPECTOR, Role.ENTERPRISE_STAFF}
    )


def can_request(user) -> bool:
    """Any unit may ask for supplies; auditors only read."""
    return bool(getattr(user, "is_authenticated", False)) and user.role != Role.AUDITOR
