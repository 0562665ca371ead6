"""Account writes and the login throttle."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record

from .models import User


def user_create(
    *,
    actor=None,
    username: str,
    password: str,
    role: str,
    jurisdiction,
    working_group: str = "",
    display_name: str = "",
) -> User:
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            jurisdiction=jurisdiction,
            working_group=working_group,
            display_name=display_name,
        )
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        audit_created(
            actor=actor,
            obj=user,
            fields={"username": username, "role": role, "jurisdiction": jurisdiction.code},
        )
    return user


def _throttle_keys(username: str, ip: str | None) -> list[str]:
    return [f"login-fail:user:{username.lower()}", f"login-fail:ip:{ip or '-'}"]


def login_allowed(*, username: str, ip: str | None) -> bool:
    limit = settings.LOGIN_THROTTLE["attempts"]
    return all((cache.get(key) or 0) < limit for key in _throttle_keys(username, ip))


def login_failed(*, username: str, ip: str | None) -> None:
    window = settings.LOGIN_THROTTLE["window_seconds"]
    for key in _throttle_keys(username, ip):
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window)
    user = User.objects.filter(username=username).select_related("jurisdiction").first()
    audit_record(
        actor=None,
        action=Action.LOGIN_FAILED,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=username[:150],
        jurisdiction_path=user.jurisdiction.path if user and user.jurisdiction else "",
    )


def login_succeeded(*, user: User, ip: str | None) -> None:
    cache.delete(_throttle_keys(user.username, ip)[0])
    audit_record(
        actor=user,
        action=Action.LOGIN,
        obj=user,
        jurisdiction_path=user.jurisdiction.path if user.jurisdiction else "",
    )
