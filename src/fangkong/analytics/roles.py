"""Who sees the analytics pages, decided from the account roles (the command centre's sets)."""

from fangkong.accounts.roles import Role
from fangkong.command.roles import HQ_ROLES, can_view_picture


def can_view_dashboard(user) -> bool:
    """The HQ dashboard, the big screen: HQ and its inspectors."""
    return can_view_picture(user)


def can_view_situation(user) -> bool:
    """Judging the situation (curve, Rt, forecasts): HQ, tracing, inspectors."""
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in HQ_ROLES | {Role.EPIDEMIOLOGIST, Role.INSPECTOR}
    )
