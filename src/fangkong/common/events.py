"""Domain events between modules: a module publishes what happened, others subscribe.

In-process and synchronous, inside the publisher's transaction, so a subscriber's writes commit
or roll back with the event's cause. Subscribers register in their AppConfig.ready().
"""

from collections import defaultdict
from collections.abc import Callable

_subscribers: dict[str, list[Callable]] = defaultdict(list)


def subscribe(event: str, handler: Callable) -> None:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def publish(event: str, **payload) -> None:
    for handler in list(_subscribers[event]):
        handler(**payload)
