"""The synthetic city: deterministic, valid ID numbers, grid sizes, roll-ups, and the command."""

import datetime as dt
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F

from fangkong.accounts.tests.factories import UserFactory
from fangkong.audit.models import AuditEntry
from fangkong.geo.models import Building, Household, Jurisdiction, Level
from fangkong.people import idnumber, synth
from fangkong.people.models import Person, Tag
from fangkong.people.phone import is_valid_phone

AS_OF = dt.date(2026, 11, 23)
POPULATION = 3_000


@pytest.fixture
def city(db):
    return synth.synth_city(population=POPULATION, seed=7, as_of=AS_OF)


def registry() -> list[tuple]:
    return list(
        Person.objects.order_by("id").values_list(
            "document_number", "name", "sex", "birth_date", "phone", "jpath", "address", "tags"
        )
    )


def test_same_seed_gives_the_same_people_in_the_same_order(city):
    first = registry()
    first_codes = list(Jurisdiction.objects.order_by("id").values_list("code", "name"))
    synth.synth_city(population=POPULATION, seed=7, as_of=AS_OF, reset=True)
    assert registry() == first
    assert list(Jurisdiction.objects.order_by("id").values_list("code", "name")) == first_codes


def test_another_seed_gives_other_people(city):
    first = registry()
    synth.synth_city(population=POPULATION, seed=8, as_of=AS_OF, reset=True)
    assert registry() != first


def test_counts(city):
    assert city["persons"] == Person.objects.count() == POPULATION
    assert city["households"] == Household.objects.count()
    assert city["buildings"] == Building.objects.count()
    assert city["grid"] == Jurisdiction.objects.filter(level=Level.GRID).count()
    assert city["province"] == city["city"] == 1
    assert 2.4 < POPULATION / city["households"] < 2.8


def test_every_id_number_is_valid_and_matches_birth_date_and_sex(city):
    rows = Person.objects.values_list("document_number", "birth_date", "sex", "grid__path")
    for number, birth_date, sex, path in rows:
        assert idnumber.parse(number, today=AS_OF) == (birth_date, sex)
        assert number[:6] == path.split("/")[3]  # the region is the district's code
    assert Person.objects.values("document_number").distinct().count() == POPULATION


def test_phones_are_mobiles(city):
    assert all(is_valid_phone(p) for p in Person.objects.values_list("phone", flat=True))


def test_every_grid_holds_300_to_500_households(city):
    sizes = Household.objects.values("grid").annotate(n=Count("id")).values_list("n", flat=True)
    assert len(sizes) == city["grid"] >= 2
    assert all(300 <= n <= 500 for n in sizes)


def test_the_tree_nests_by_code_and_path(city):
    for node in Jurisdiction.objects.select_related("parent"):
        if node.parent is None:
            assert (node.level, node.code, node.path) == (Level.PROVINCE, "320000", "/320000/")
            continue
        # 320000 > 320100 > 320102: a province and a city own their code's first 2 and 4 digits.
        assert node.code.startswith(node.parent.code[: {0: 2, 1: 4}.get(node.parent.depth)])
        assert node.path == f"{node.parent.path}{node.code}/"
        assert node.depth == node.parent.depth + 1
    lengths = {
        level: {
            len(c) for c in Jurisdiction.objects.filter(level=level).values_list("code", flat=True)
        }
        for level in (Level.DISTRICT, Level.STREET, Level.COMMUNITY)
    }
    assert lengths == {Level.DISTRICT: {6}, Level.STREET: {9}, Level.COMMUNITY: {12}}


def test_people_sit_in_their_grid_and_household(city):
    assert not Person.objects.exclude(jpath=F("grid__path")).exists()
    assert not Person.objects.exclude(grid=F("household__grid")).exists()
    assert not Household.objects.exclude(grid=F("building__grid")).exists()
    assert not Person.objects.filter(grid__level__in=[Level.CITY, Level.DISTRICT]).exists()


def test_population_rolls_up_the_tree(city):
    root = Jurisdiction.objects.get(parent=None)
    assert root.population == Person.objects.count()
    for node in Jurisdiction.objects.all():
        assert node.population == Person.objects.filter(jpath__startswith=node.path).count()


def test_one_audit_entry(city):
    entry = AuditEntry.objects.get(object_type="synth")
    assert entry.action == "import"
    assert entry.changes["persons"] == POPULATION


def test_refuses_a_filled_registry_without_reset(city):
    with pytest.raises(synth.SynthError, match="--reset"):
        synth.synth_city(population=100, seed=1, as_of=AS_OF)
    assert Person.objects.count() == POPULATION


def test_reset_detaches_users(city):
    user = UserFactory(jurisdiction=Jurisdiction.objects.get(level=Level.CITY))
    synth.synth_city(population=500, seed=1, as_of=AS_OF, reset=True)
    user.refresh_from_db()
    assert user.jurisdiction is None
    assert Person.objects.count() == 500


def test_command_prints_a_summary(db):
    out = io.StringIO()
    call_command("synth", population=1200, seed=3, stdout=out)
    assert "人 persons 1,200" in out.getvalue()
    with pytest.raises(CommandError, match="--reset"):
        call_command("synth", population=1200, seed=3, stdout=out)


# The plan alone, without a database: distributions on a larger city.


@pytest.fixture(scope="module")
def big():
    return synth.plan(60_000, seed=11, as_of=AS_OF)


def test_household_sizes(big):
    assert big.household_size.min() == 1
    assert big.household_size.max() == 6
    assert 2.5 < big.household_size.mean() < 2.7


def test_age_pyramid_and_tags(big):
    age = (np.datetime64(AS_OF) - big.birth_days.astype("datetime64[D]")).astype(int) / 365.2425
    assert 0.16 < (age < 15).mean() < 0.20  # 7th census: 17.95 % aged 0-14
    assert 0.17 < (age >= 60).mean() < 0.21  # 7th census: 18.70 % aged 60 and over
    assert 0.49 < big.male.mean() < 0.53
    pregnant = (big.tags & Tag.PREGNANT) > 0
    assert not big.male[pregnant].any()
    assert ((age[pregnant] >= 20) & (age[pregnant] < 40)).all()
    bedridden = (big.tags & Tag.BEDRIDDEN) > 0
    assert (age[bedridden] >= 80).all()
    chronic = (big.tags & Tag.CHRONIC_DISEASE) > 0
    assert 0.12 < chronic[age >= 60].mean() < 0.18
    alone = (big.tags & Tag.LIVING_ALONE) > 0
    assert (big.household_size[big.person_household[alone]] == 1).all()
    heads = np.concatenate([[0], np.cumsum(big.household_size)[:-1]])
    assert (age[heads] >= 20).all()


@pytest.mark.parametrize("households", [1, 299, 300, 480, 500, 600, 777, 1_000, 4_321, 99_999])
def test_grid_split_keeps_the_range(households):
    sizes = synth.split_grids(households, np.random.default_rng(0))
    assert sizes.sum() == households
    if households < 300:
        assert len(sizes) == 1
    else:
        assert sizes.min() >= 300 and sizes.max() <= 500


def test_districts_scale_with_population():
    assert synth.districts_for(200_000) == 6
    assert synth.districts_for(1_000_000) == 10
    assert synth.districts_for(20_000_000) == 11
