"""Who may do what in voluntary testing: sampling-site staff and the testing command run it."""

from fangkong.accounts.roles import Role
from fangkong.testing import roles as testing_roles


def can_manage_schedules(user) -> bool:
    """Set a site's hours and places per slot and open days: site staff and testing HQ."""
    return testing_roles.can_sample(user) or testing_roles.can_manage_rounds(user)


def can_view_bookings(user) -> bool:
    """See who booked which slot (masked unless the role may see personal data)."""
    if can_manage_schedules(user):
        return True
    return bool(getattr(user, "is_authenticated", False)) and user.role in (
        Role.COMMANDER,
        Role.HQ_STAFF,
    )
