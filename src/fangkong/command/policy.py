"""Downgrade rules of the risk-area policy presets (shared/DOMAIN.md), as data."""

from dataclasses import dataclass

from .models import RiskArea, RiskLevel


@dataclass(frozen=True)
class Step:
    to_level: str  # "" lifts the area
    clean_days: int
    needs_negative_round: bool


# preset -> current level -> the step the review may propose.
DOWNGRADES: dict[str, dict[str, Step]] = {
    RiskArea.Preset.JUN_2022: {
        RiskLevel.HIGH: Step(RiskLevel.MEDIUM, 7, True),
        RiskLevel.MEDIUM: Step(RiskLevel.LOW, 7, False),
    },
    RiskArea.Preset.NOV_2022: {
        RiskLevel.HIGH: Step(RiskLevel.LOW, 5, False),
    },
    RiskArea.Preset.ZONES: {
        RiskLevel.SEALED: Step("", 14, True),
        RiskLevel.CONTROLLED: Step("", 14, True),
        RiskLevel.PRECAUTION: Step("", 14, True),
    },
}

LEVELS_OF_PRESET = {
    RiskArea.Preset.JUN_2022: {RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW},
    RiskArea.Preset.NOV_2022: {RiskLevel.HIGH, RiskLevel.LOW},
    RiskArea.Preset.ZONES: {RiskLevel.SEALED, RiskLevel.CONTROLLED, RiskLevel.PRECAUTION},
}
