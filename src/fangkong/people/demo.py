"""The demo: a synthetic city, one login per role, then each module's story (its registry.py step).

It lives in people because people owns the synthetic city and already stands on geo and
accounts; the module stories are discovered (common.registry.demo_step), never listed here.
"""

from __future__ import annotations

from django.core.management import call_command

from fangkong.accounts.demo import demo_accounts_ensure
from fangkong.accounts.models import User
from fangkong.common import registry
from fangkong.geo.demo import demo_nodes

from .models import Person
from .synth import registry_is_empty, synth_city

DEFAULT_POPULATION = 200_000
DEFAULT_SEED = 2022


def demo_logins_ensure() -> list[User]:
    """One login per role on the demo city's nodes."""
    return demo_accounts_ensure(nodes=demo_nodes())


def run_steps(stdout, seed: int) -> None:
    """Every module's demo step, by its declared order (a later one may build on an earlier
    one's data, e.g. tracing on testing results). Each is idempotent: it runs on every start."""
    for step in registry.demo_steps():
        step.resolve()(stdout, seed)


def demo_prepare(
    *, stdout, population: int = DEFAULT_POPULATION, seed: int = DEFAULT_SEED, migrate: bool = True
) -> list[User]:
    """Everything the demo needs before serving; safe to run again and again."""
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    if registry_is_empty():
        stdout.write(f"Building a synthetic city of {population:,} people (seed {seed}) ...")
        summary = synth_city(population=population, seed=seed)
        stdout.write(
            f"  {summary['district']} districts, {summary['street']} streets/towns, "
            f"{summary['community']} communities/villages, {summary['grid']} grids, "
            f"{summary['households']:,} households, {summary['persons']:,} people "
            f"in {summary['seconds']} s"
        )
    else:
        stdout.write(
            f"The registry already holds {Person.objects.count():,} people; kept as it is."
        )
    users = demo_logins_ensure()
    run_steps(stdout, seed)
    return users
