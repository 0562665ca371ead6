"""Domain events between modules: a module publishes what happened, others subscribe.

In-process and synchronous, inside the publisher's transaction, so a subscriber's writes commit
or roll back with the event's cause. The publishing app declares its event names and a
subscriber subscribes in its own ``registry.py`` (see common.registry). A name no app declared
is a typo that would otherwise go unheard: publishing it is refused, and a subscription to it
fails the system check (``manage.py check``, run by the test suite's setup too).
"""

from collections import defaultdict
from collections.abc import Callable

from . import registry

_subscribers: dict[str, list[Callable]] = defaultdict(list)


def _declared(event: str) -> None:
    if event not in registry.events():
        raise LookupError(f"no app declares the event {event!r} (registry.event)")


def subscribe(event: str, handler: Callable) -> None:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def check_subscriptions(app_configs=None, **kwargs):
    """System check: every subscribed event is declared by some app."""
    from django.core.checks import Error

    declared = registry.events()
    return [
        Error(f"a subscriber listens to {event!r}, which no app declares", id="common.E001")
        for event, handlers in _subscribers.items()
        if handlers and event not in declared
    ]


def publish(event: str, **payload) -> None:
    _declared(event)
    for handler in list(_subscribers[event]):
        handler(**payload)
