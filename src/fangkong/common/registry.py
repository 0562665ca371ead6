"""What each app contributes to the whole, declared in the app's own ``registry.py`` and discovered.

The shared pieces (the navigation, the alert centre, the event bus, the demo, the daily figures)
need to know every module, but must not import them: ``common`` and ``accounts`` sit below the
domain apps, and a list of the domain apps' roles or functions in ``common`` put every app in one
import cycle. So each app declares its own entries in ``<app>/registry.py`` (as Django admin
discovers ``admin.py``); ``autodiscover()`` imports those modules once, from common's
``AppConfig.ready()``, in INSTALLED_APPS order.

Entries that are shown or run in sequence carry an explicit ``order`` number, so the result does
not depend on INSTALLED_APPS order; two entries with the same order are a mistake and refused.

Layers (enforced by ``common/tests/test_layers.py``): the kernel apps ``common``, ``audit`` and
``accounts`` import no domain app; domain apps import the kernel and each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import import_module

from django.apps import apps
from django.utils.module_loading import module_has_submodule

MODULE = "registry"


@dataclass(frozen=True)
class NavEntry:
    order: int
    url_name: str
    label: str
    allowed: Callable | None = None  # user -> bool; None: every signed-in user


@dataclass(frozen=True)
class DemoStep:
    order: int
    step: str | Callable  # a callable or a dotted path, called as step(stdout, seed)

    def resolve(self) -> Callable:
        return load(self.step) if isinstance(self.step, str) else self.step


@dataclass(frozen=True)
class FigureProvider:
    order: int
    provider: str  # dotted path of figures(path, day) -> dict (see command.figures)


_nav: dict[str, NavEntry] = {}
_alert_kinds: dict[str, str] = {}
_events: set[str] = set()
_demo_steps: dict[str | Callable, DemoStep] = {}
_figure_providers: dict[str, FigureProvider] = {}
_person_status: dict[str, int] = {}
_warmups: dict[str, int] = {}


def _refuse_same_order(kind: str, entries, new_order: int, key) -> None:
    for other_key, entry in entries.items():
        if other_key != key and entry.order == new_order:
            raise ValueError(f"{kind} {key!r} has the order {new_order} of {other_key!r}")


def nav(order: int, url_name: str, label, allowed: Callable | None = None) -> None:
    """A module page in the navigation, shown to users for whom ``allowed(user)`` holds."""
    _refuse_same_order("nav entry", _nav, order, url_name)
    _nav[url_name] = NavEntry(order, url_name, label, allowed)


def alert_kind(kind: str, label) -> None:
    """An alert kind this app raises, with its label for the alert centre."""
    _alert_kinds[kind] = label


def event(*names: str) -> None:
    """Event names this app publishes; publishing an undeclared name is refused."""
    _events.update(names)


def demo_step(order: int, step: str | Callable) -> None:
    """This app's part of the demo story (idempotent; run after the city and the logins exist)."""
    _refuse_same_order("demo step", _demo_steps, order, step)
    _demo_steps[step] = DemoStep(order, step)


def figure_provider(order: int, provider: str) -> None:
    """A provider of a node's daily figures (daily report, HQ dashboard)."""
    _refuse_same_order("figure provider", _figure_providers, order, provider)
    _figure_providers[provider] = FigureProvider(order, provider)


def person_status(order: int, provider: str) -> None:
    """A provider of a person's current state for the person page (dotted path of
    provider(*, actor, person) -> list of {"label", "value", "url", "level"})."""
    _person_status[provider] = order


def warmup(order: int, step: str) -> None:
    """A step `serve` runs before it takes traffic (dotted path of a no-argument callable that
    renders or reads what a fresh process would otherwise build on its first request; it must
    write nothing). See common.warmup."""
    _warmups[step] = order


def warmup_steps() -> list[str]:
    return sorted(_warmups, key=_warmups.get)


def person_status_providers() -> list[str]:
    return sorted(_person_status, key=_person_status.get)


def nav_entries() -> list[NavEntry]:
    return sorted(_nav.values(), key=lambda e: e.order)


def alert_kinds() -> dict[str, str]:
    return dict(_alert_kinds)


def alert_kind_label(kind: str) -> str:
    """What a kind means, as its app declared it; a kind nobody declared shows its code."""
    return str(_alert_kinds.get(kind, kind))


def events() -> frozenset[str]:
    return frozenset(_events)


def demo_steps() -> list[DemoStep]:
    return sorted(_demo_steps.values(), key=lambda s: s.order)


def figure_providers() -> list[str]:
    return [p.provider for p in sorted(_figure_providers.values(), key=lambda p: p.order)]


@cache
def load(dotted: str) -> Callable:
    module, name = dotted.rsplit(".", 1)
    return getattr(import_module(module), name)


def autodiscover() -> None:
    """Import every installed app's ``registry`` module (once; importing is what registers)."""
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, MODULE):
            import_module(f"{config.name}.{MODULE}")
