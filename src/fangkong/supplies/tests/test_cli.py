"""`fangkong supplies`: catalogue, shortage check and balance verification from the command line."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from fangkong.supplies import services
from fangkong.supplies.models import Balance

from .factories import WarehouseFactory, items


def run(*args) -> str:
    out = io.StringIO()
    call_command("supplies", *args, stdout=out)
    return out.getvalue()


def test_items_and_verify(tree):
    assert run("items-ensure") == f"{len(services.DEFAULT_ITEMS)} items created\n"
    warehouse = WarehouseFactory(jurisdiction=tree["district"])
    rice = items()["RICE"]
    services.stock_receive(actor=None, warehouse=warehouse, item=rice, quantity=40)
    assert run("verify") == "0 balances differ from the ledger\n"
    Balance.objects.update(quantity=41)
    with pytest.raises(CommandError, match="drifted"):
        run("verify")
    assert "(repaired)" in run("verify", "--repair")
    assert Balance.objects.get().quantity == 40


def test_check_shortages(tree):
    warehouse = WarehouseFactory(jurisdiction=tree["district"])
    rice = items()["RICE"]
    services.stock_receive(actor=None, warehouse=warehouse, item=rice, quantity=100)
    for day in range(16, 23):
        services.stock_issue(
            actor=None, warehouse=warehouse, item=rice, quantity=10, day=dt.date(2026, 11, day)
        )
    assert run("check-shortages", "--date", "2026-11-23") == "0 shortages\n"
    out = run("check-shortages", "--date", "2026-11-23", "--threshold", "5")
    assert out == "320100 南京市 RICE 3.0 days\n320102 玄武区 RICE 3.0 days\n2 shortages\n"
    with pytest.raises(CommandError, match="--date"):
        run("check-shortages", "--date", "23/11")
