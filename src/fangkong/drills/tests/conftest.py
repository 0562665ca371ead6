"""Drills' fixtures: one sandbox folder for the session (its migrated template is made once),
and every sandbox a test made dropped afterwards."""

import datetime as dt

import pytest

from fangkong.drills import routing, sandbox


@pytest.fixture(scope="session")
def drill_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("drills")


@pytest.fixture
def drills_env(settings, drill_dir):
    settings.FANGKONG_DRILL_DIR = str(drill_dir)
    yield
    for alias in sandbox.connected():
        sandbox.drop(alias)


@pytest.fixture
def crew(make_user, drills_env):
    """A city commander, a district epidemiologist and grid worker, and district 2's commander."""
    return {
        "commander": make_user("commander", "city"),
        "epi": make_user("epidemiologist", "district"),
        "grid": make_user("grid_worker", "grid_a"),
        "other": make_user("commander", "district2"),
        "other_epi": make_user("epidemiologist", "district2"),
    }


def rewind(drill, hours: float) -> None:
    """Move the drill's start back so that ``hours`` simulated hours have passed."""
    from fangkong.drills.models import Drill

    with routing.live():
        started = drill.started_at - dt.timedelta(hours=hours) / drill.speed
        Drill.objects.filter(pk=drill.pk).update(started_at=started)
        drill.refresh_from_db()
