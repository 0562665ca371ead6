"""What each kind of place must do, and when it closes or admits fewer people, per policy preset
(shared/DOMAIN.md: places are checked at the door, capacity limits and closure follow the risk
level). Data, not code: a city picks a preset with FANGKONG_PLACES_POLICY."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from .models import Duty, Measure, PlaceKind

K = PlaceKind
ALL_DOOR = (Duty.SCAN, Duty.TEMPERATURE, Duty.MASK)
CROWDS = (K.MARKET, K.SUPERMARKET, K.MALL, K.RESTAURANT, K.ENTERTAINMENT, K.RELIGIOUS, K.STATION)
GATHERINGS = (K.ENTERTAINMENT, K.RELIGIOUS)
ESSENTIAL = (K.HOSPITAL, K.SUPERMARKET, K.MARKET, K.STATION, K.COLD_CHAIN)


@dataclass(frozen=True)
class Effect:
    measure: str  # Measure.CLOSED or Measure.RESTRICTED
    percent: int = 0  # restricted: the share of capacity allowed at once

    def severity(self) -> tuple[int, int]:
        """Smaller is stricter: closed before any restriction, then the smaller share."""
        return (0 if self.measure == Measure.CLOSED else 1, self.percent)


CLOSED = Effect(Measure.CLOSED)


def half(kind) -> Effect:
    return Effect(Measure.RESTRICTED, 50)


@dataclass(frozen=True)
class Preset:
    name: str
    # kind -> (duties, staff test every N days or None)
    duties: dict[str, tuple[tuple[str, ...], int | None]]
    # risk level -> kind -> effect (a kind not listed: no effect)
    risk: dict[str, dict[str, Effect]] = field(default_factory=dict)
    # response level (1..4) -> kind -> effect
    response: dict[int, dict[str, Effect]] = field(default_factory=dict)


def _duties(staff_days: dict[str, int | None], capacity_kinds=CROWDS):
    table = {}
    for kind in PlaceKind.values:
        duties = [*ALL_DOOR]
        if kind in capacity_kinds:
            duties.append(Duty.CAPACITY)
        duties.append(Duty.DISINFECTION)
        days = staff_days.get(kind)
        if days:
            duties.append(Duty.STAFF_TEST)
        table[kind] = (tuple(duties), days)
    return table


def _high(kinds_open_restricted=(K.HOSPITAL, K.SUPERMARKET, K.MARKET)):
    return {
        kind: (Effect(Measure.RESTRICTED, 30) if kind in kinds_open_restricted else CLOSED)
        for kind in PlaceKind.values
    }


def _medium():
    effects = {kind: Effect(Measure.RESTRICTED, 50) for kind in CROWDS}
    effects.update({kind: CLOSED for kind in GATHERINGS})
    effects[K.RESTAURANT] = CLOSED  # no dining in; take-away is outside the door
    return effects


JUN_2022 = Preset(
    "2022-06",
    duties=_duties(
        {
            K.COLD_CHAIN: 1,
            K.HOSPITAL: 1,
            K.MARKET: 2,
            K.SUPERMARKET: 2,
            K.ELDER_CARE: 2,
            K.STATION: 2,
            K.HOTEL: 3,
            K.RESTAURANT: 3,
            K.MALL: 3,
            K.SCHOOL: 3,
            K.WORKPLACE: 7,
        }
    ),
    risk={
        "high": _high(),
        "sealed": _high(),
        "medium": _medium(),
        "controlled": _medium(),
    },
    response={
        1: {
            **{k: Effect(Measure.RESTRICTED, 50) for k in CROWDS},
            **{k: CLOSED for k in GATHERINGS},
        },
        2: {
            **{k: Effect(Measure.RESTRICTED, 75) for k in CROWDS},
            **{k: half(k) for k in GATHERINGS},
        },
    },
)

NOV_2022 = Preset(
    "2022-11",
    duties=_duties({K.COLD_CHAIN: 1, K.HOSPITAL: 2, K.ELDER_CARE: 2, K.MARKET: 3}),
    risk={"high": _high(kinds_open_restricted=(K.HOSPITAL, K.SUPERMARKET, K.MARKET, K.STATION))},
    response={1: {k: Effect(Measure.RESTRICTED, 75) for k in CROWDS}},
)

PRESETS = {p.name: p for p in (JUN_2022, NOV_2022)}


def current() -> Preset:
    return PRESETS.get(settings.FANGKONG_PLACES_POLICY, JUN_2022)


def duties_of(kind: str, preset: Preset | None = None) -> tuple[str, ...]:
    return (preset or current()).duties.get(kind, (ALL_DOOR, None))[0]


def staff_test_days(kind: str, preset: Preset | None = None) -> int | None:
    return (preset or current()).duties.get(kind, (ALL_DOOR, None))[1]


def risk_effect(kind: str, level: str, preset: Preset | None = None) -> Effect | None:
    return (preset or current()).risk.get(level, {}).get(kind)


def response_effect(kind: str, level: int, preset: Preset | None = None) -> Effect | None:
    return (preset or current()).response.get(level, {}).get(kind)
