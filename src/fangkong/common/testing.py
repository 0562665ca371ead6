"""Shared test fixtures (a pytest plugin): a small city tree with two grids, people in each, and users."""

from importlib import import_module

import pytest

from fangkong.accounts.tests.factories import UserFactory
from fangkong.geo.tests.factories import HouseholdFactory, JurisdictionFactory
from fangkong.people.tests.factories import PersonFactory


@pytest.fixture
def tree(db):
    """province > city > district > street > community > grids A and B, and district 2 > grid C."""
    province = JurisdictionFactory(code="320000", level="province", name="江苏省")
    city = JurisdictionFactory(code="320100", level="city", name="南京市", parent=province)
    district = JurisdictionFactory(code="320102", level="district", name="玄武区", parent=city)
    street = JurisdictionFactory(
        code="320102001", level="street", name="梅园新村街道", parent=district
    )
    community = JurisdictionFactory(
        code="320102001001", level="community", name="长江路社区", parent=street
    )
    grid_a = JurisdictionFactory(
        code="320102001001G01", level="grid", name="第一网格", parent=community
    )
    grid_b = JurisdictionFactory(
        code="320102001001G02", level="grid", name="第二网格", parent=community
    )
    district2 = JurisdictionFactory(code="320104", level="district", name="秦淮区", parent=city)
    street2 = JurisdictionFactory(
        code="320104001", level="street", name="夫子庙街道", parent=district2
    )
    community2 = JurisdictionFactory(
        code="320104001001", level="community", name="钞库街社区", parent=street2
    )
    grid_c = JurisdictionFactory(
        code="320104001001G01", level="grid", name="钞库街第一网格", parent=community2
    )
    return {
        "province": province,
        "city": city,
        "district": district,
        "street": street,
        "community": community,
        "grid_a": grid_a,
        "grid_b": grid_b,
        "district2": district2,
        "grid_c": grid_c,
    }


@pytest.fixture
def people(tree):
    """Three people in grid A, two in grid B, one in grid C."""
    household = HouseholdFactory(building__grid=tree["grid_a"])
    return {
        "a": [PersonFactory(grid=tree["grid_a"], household=household) for _ in range(3)],
        "b": [PersonFactory(grid=tree["grid_b"]) for _ in range(2)],
        "c": [PersonFactory(grid=tree["grid_c"])],
    }


@pytest.fixture
def make_user(tree):
    def make(role: str = "grid_worker", node: str = "grid_a", **kwargs):
        return UserFactory(role=role, jurisdiction=tree[node], **kwargs)

    return make


# The rows the data migrations ship (policy presets, the readiness checklist, vaccine products)
# are part of an empty database's state: a transactional test's flush truncates them, and every
# test after it would see a database no deployment has. The flush puts them back, as `migrate` did.
SEEDS = (
    ("fangkong.control.migrations.0002_presets", "ensure"),
    ("fangkong.command.migrations.0002_default_checklist", "forward"),
    ("fangkong.vaccination.migrations.0002_products", "load"),
)


def reseed(database: str = "default") -> None:
    from django.apps import apps
    from django.db import transaction

    with transaction.atomic(using=database):
        for module, function in SEEDS:
            getattr(import_module(module), function)(apps, None)


@pytest.fixture(scope="session", autouse=True)
def _reseed_after_flush():
    from django.core.management.commands import flush

    original = flush.Command.handle

    def flush_and_reseed(self, **options):
        result = original(self, **options)
        reseed(options.get("database", "default"))
        return result

    flush.Command.handle = flush_and_reseed
    try:
        yield
    finally:
        flush.Command.handle = original


# --- the suite on PostgreSQL as the application role (docs/architecture.md, "Database roles") ---
# With FANGKONG_MIGRATE_DATABASE_URL set, the owner creates and migrates the test database, the
# app role is granted its share, and every test then runs on the app role's connection: the code
# under test has no ownership. Only the harness's own database resets (flush between
# transactional tests, which truncates the audit log too) go back to the owner.
_ROLES: dict = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.db import connections

    from fangkong.common import dbroles

    owner = dbroles.owner_credentials()
    settings_dict = connections["default"].settings_dict
    if (
        owner
        and connections["default"].vendor == "postgresql"
        and owner["USER"] != settings_dict["USER"]
    ):
        _ROLES["app"] = {key: settings_dict.get(key, "") for key in owner}
        _ROLES["owner"] = owner
        connections["default"].close()
        settings_dict.update(owner)


@pytest.fixture(scope="session", autouse=True)
def _suite_as_app_role(request):
    from django.core.management.commands import flush
    from django.db import connections

    from fangkong.common import dbroles

    if dbroles.owner_credentials() is None or connections["default"].vendor != "postgresql":
        yield
        return
    request.getfixturevalue("django_db_setup")  # runs django_db_modify_db_settings above
    if not _ROLES:
        yield
        return
    blocker = request.getfixturevalue("django_db_blocker")
    connection = connections["default"]
    with blocker.unblock():
        with connection.cursor() as cursor:
            dbroles.grant_app(cursor, owner=_ROLES["owner"]["USER"], app=_ROLES["app"]["USER"])
        connection.close()
        connection.settings_dict.update(_ROLES["app"])
    original = flush.Command.handle

    def flush_as_owner(self, **options):
        with dbroles.as_owner(options.get("database", "default")):
            return original(self, **options)

    flush.Command.handle = flush_as_owner
    try:
        yield
    finally:
        flush.Command.handle = original
        with blocker.unblock():
            connection.close()
            connection.settings_dict.update(_ROLES["owner"])
