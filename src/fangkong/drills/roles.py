"""Who may do what with drills, decided in one place from the account roles."""

from fangkong.accounts.roles import Role

DIRECTORS = {Role.COMMANDER, Role.HQ_STAFF, Role.ADMIN}


def can_direct(user) -> bool:
    """Prepare, start, step and end drills of one's own area."""
    return bool(getattr(user, "is_authenticated", False)) and (
        user.is_superuser or user.role in DIRECTORS
    )


def can_see_drills(user) -> bool:
    """Directors, and whoever is named a participant of some drill (the nav entry)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if can_direct(user):
        return True
    from . import routing
    from .models import Participant

    with routing.live():
        return Participant.objects.filter(user_id=user.pk).exists()
