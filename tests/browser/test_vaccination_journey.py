"""A vaccinator's day at a site: a dose recorded, then an adverse event after it reported; and
the grid worker's door-knocking list of the unvaccinated in their grid, scoped and audited."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.accounts.tests.factories import UserFactory
from fangkong.audit.models import AuditEntry
from fangkong.people.tests.factories import PersonFactory
from fangkong.vaccination import services
from fangkong.vaccination.models import Aefi, Dose, Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/**")


def test_vaccinator_records_a_dose_and_reports_aefi_grid_worker_lists(page, live_server, tree):
    today = timezone.localdate()
    adult = PersonFactory(grid=tree["grid_a"], birth_date=today - dt.timedelta(days=40 * 366))
    elder = PersonFactory(grid=tree["grid_a"], birth_date=today - dt.timedelta(days=82 * 366))
    PersonFactory(grid=tree["grid_c"], birth_date=today - dt.timedelta(days=50 * 366))
    site = services.site_create(
        actor=None, code="JZ-XW", name="玄武区接种点", jurisdiction=tree["district"]
    )
    UserFactory(username="xw_vacc", role="vaccinator", jurisdiction=tree["district"])
    UserFactory(username="g01_worker", role="grid_worker", jurisdiction=tree["grid_a"])
    bbibp = Product.objects.get(code="BBIBP")
    base = live_server.url

    _login(page, base, "xw_vacc")
    page.goto(f"{base}/vaccination/record/")
    page.fill("input[name=id_number]", adult.document_number)
    page.select_option("select[name=product]", str(bbibp.pk))
    page.fill("input[name=lot]", "202211B07")
    page.select_option("select[name=site]", str(site.pk))
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_selector(".message")
    assert adult.name in page.inner_text(".message")
    dose = Dose.objects.get(person=adult)
    assert (dose.dose_number, dose.product_id, dose.site_id, dose.lot.code) == (
        1,
        bbibp.pk,
        site.pk,
        "202211B07",
    )
    assert adult.name in page.inner_text("table")  # under "doses you recorded"

    page.goto(f"{base}/vaccination/aefi/")
    page.fill("input[name=id_number]", adult.document_number)
    page.fill("input[name=dose_number]", "1")
    page.select_option("select[name=severity]", "common")
    page.fill("input[name=symptoms]", "接种部位红肿，低热 37.8℃")
    page.click("main form[method=post] button[type=submit]")
    aefi = Aefi.objects.get()
    page.wait_for_url(f"{base}/vaccination/aefi/{aefi.pk}/")
    assert (aefi.dose_id, aefi.severity, aefi.status) == (dose.pk, "common", "reported")
    assert "接种部位红肿" in page.inner_text("main")

    page.context.clear_cookies()
    _login(page, base, "g01_worker")
    page.goto(f"{base}/vaccination/lists/?kind=unvaccinated")
    table = page.inner_text("table")
    # The 82-year-old has no dose, the vaccinated adult is off the list, grid C is not theirs.
    assert elder.name in table and adult.name not in table
    assert Dose.objects.count() == 1
    assert page.locator("tbody tr").count() == 1
    # Grid workers may see personal data (accounts.roles.can_see_pii: they knock on the doors),
    # so their list is unmasked and every page of it is audited as a view of personal data.
    assert elder.document_number in table
    seen = AuditEntry.objects.get(action="view_pii", actor__username="g01_worker")
    assert seen.changes["people"] == [elder.pk]
