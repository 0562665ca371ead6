"""The scenario of a drill: seeded cases released on the accelerated clock, drawn
deterministically from the drill's seed and its sandbox population."""

from __future__ import annotations

import random

# Simulated hours after the start at which the seeded cases are reported (a growing cluster).
SCHEDULE = [0.0, 2.0, 5.0, 9.0, 14.0, 20.0, 27.0, 35.0]


def plan(*, person_ids: list[int], seed: int, cases: int) -> list[dict]:
    """One inject per case: when, who (a sandbox person id), class, and the onset and first
    medical visit as simulated hours before the report."""
    if not person_ids:
        return []
    rng = random.Random(seed)
    chosen = rng.sample(person_ids, min(cases, len(person_ids)))
    out = []
    for number, person_id in enumerate(chosen, start=1):
        at = SCHEDULE[number - 1] if number <= len(SCHEDULE) else SCHEDULE[-1] + 8 * number
        out.append(
            {
                "number": number,
                "at_hours": at,
                "payload": {
                    "person_id": person_id,
                    "classification": "confirmed" if rng.random() < 0.7 else "asymptomatic",
                    "onset_hours_before": rng.choice([24, 36, 48, 60]),
                    "visit_hours_before": rng.choice([1, 2, 3, 6]),
                },
            }
        )
    return out
