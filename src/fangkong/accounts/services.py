"""Account writes, the login throttle every worker process shares, and API tokens."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors, throttle

from .models import User

logger = logging.getLogger(__name__)

THROTTLED = _("Too many failed logins. Wait a few minutes and try again.")
STORE_DOWN = _(
    "Logins are paused: the service that counts failed logins is unavailable. "
    "Try again in a minute."
)
BAD_CREDENTIALS = _("The username or the password is not correct.")


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
    user = User(
        username=username,
        role=role,
        jurisdiction=jurisdiction,
        working_group=working_group,
        display_name=display_name,
    )
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise errors.Invalid(
            _("The password is too weak."), fields={"password": exc.messages}
        ) from exc
    with transaction.atomic():
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        audit_created(
            actor=actor,
            obj=user,
            fields={"username": username, "role": role, "jurisdiction": jurisdiction.code},
        )
    return user


# The login throttle. Three counters in the shared cache (fangkong.common.throttle),
# each living window_seconds after its last change:
#   user      failures for one username, from anywhere           -> limit "attempts"
#   addr      failures from one client address, for any username -> limit "address_attempts"
#   addr-user one username's share of addr, so that a success can take exactly that share back
# One user alone can add at most "attempts" to an address (then their own counter stops them),
# and a success forgives their share: locking everyone out behind a NAT takes failures for
# several accounts at once, which is what the address limit is there to stop.


def _keys(username: str, ip: str | None) -> tuple[str, str, str]:
    # Hashed: usernames sent to the API are any length and any characters.
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    address = ip or "-"
    return (
        f"login-fail:user:{user}",
        f"login-fail:addr:{address}",
        f"login-fail:addr-user:{address}:{user}",
    )


def _unavailable(exc: Exception) -> errors.Unavailable:
    logger.error("login throttle store unavailable: %r", exc)
    return errors.Unavailable(STORE_DOWN)


def login_check(*, username: str, ip: str | None) -> None:
    """Refuse (Throttled) while the username or the address has used up its failures, and
    refuse (Unavailable) when the counters cannot be read: never let a guess through uncounted."""
    limits = settings.LOGIN_THROTTLE
    user_key, addr_key, _share = _keys(username, ip)
    try:
        counts = throttle.counts([user_key, addr_key])
    except throttle.STORE_ERRORS as exc:
        raise _unavailable(exc) from exc
    if counts[user_key] >= limits["attempts"] or counts[addr_key] >= limits["address_attempts"]:
        raise errors.Throttled(THROTTLED)


def login_failed(*, username: str, ip: str | None, via: str) -> None:
    """Audit a wrong password and count it; Unavailable when it cannot be counted."""
    user = User.objects.filter(username=username).select_related("jurisdiction").first()
    audit_record(
        actor=None,
        action=Action.LOGIN_FAILED,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=username[:150],
        jurisdiction_path=user.jurisdiction.path if user and user.jurisdiction else "",
        changes={"via": via},
    )
    window = settings.LOGIN_THROTTLE["window_seconds"]
    try:
        for key in _keys(username, ip):
            throttle.bump(key, window)
    except throttle.STORE_ERRORS as exc:
        raise _unavailable(exc) from exc


def login_succeeded(*, user: User, ip: str | None, via: str) -> None:
    """Audit the login and forgive this account's failures, everywhere and at this address."""
    user_key, addr_key, share_key = _keys(user.username, ip)
    try:
        share = throttle.counts([share_key])[share_key]
        throttle.store().delete_many([user_key, share_key])
        if share:
            throttle.lower(addr_key, share, settings.LOGIN_THROTTLE["window_seconds"])
    except throttle.STORE_ERRORS as exc:
        # The login itself was checked against the counters; leaving them as they are only
        # keeps the throttle stricter until they expire.
        logger.warning("login throttle counters not cleared for %s: %r", user.pk, exc)
    audit_record(
        actor=user,
        action=Action.LOGIN,
        obj=user,
        jurisdiction_path=user.jurisdiction.path if user.jurisdiction else "",
        changes={"via": via},
    )


# API tokens. One per user (DRF's model); it lives settings.API_TOKEN_TTL after the login that
# last issued it, and is deleted when it expires, when the password changes (User.save) and
# when its holder revokes it.


def token_expires_at(token: Token):
    return token.created + settings.API_TOKEN_TTL


def token_expired(token: Token) -> bool:
    return token_expires_at(token) <= timezone.now()


def token_obtain(*, request, username: str, password: str, ip: str | None) -> Token:
    """The API's login: the same throttle, audit and refusals as the login page."""
    login_check(username=username, ip=ip)
    user = authenticate(request=request, username=username, password=password)
    if user is None:
        login_failed(username=username, ip=ip, via="api")
        raise errors.Invalid(BAD_CREDENTIALS)
    token = _token_issue(user)
    login_succeeded(user=user, ip=ip, via="api")
    return token


def _token_issue(user: User) -> Token:
    with transaction.atomic():
        token, created = Token.objects.select_for_update().get_or_create(user=user)
        if created:
            return token
        if token_expired(token):
            token.delete()
            return Token.objects.create(user=user)
        # A login extends the token the user's other devices hold too: it is the same token.
        token.created = timezone.now()
        Token.objects.filter(pk=token.pk).update(created=token.created)
    return token


def token_revoke(*, actor: User) -> int:
    """Delete the caller's API token; this process forgets it at once (accounts.signals), the
    others within authentication.TOKEN_TTL."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=actor).delete()
        if deleted:
            audit_record(
                actor=actor,
                action=Action.DELETE,
                object_type="authtoken.token",
                object_id=str(actor.pk),
                object_repr=f"API token of {actor.username}"[:200],
                jurisdiction_path=actor.jurisdiction.path if actor.jurisdiction else "",
            )
    return deleted
