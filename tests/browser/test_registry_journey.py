"""A district user's whole task: tree, search, masked detail, import with errors, rejected rows."""

import datetime as dt

import pytest

from fangkong.accounts.tests.factories import UserFactory
from fangkong.people import idnumber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_district_user_journey(page, live_server, people, tree, tmp_path):
    UserFactory(
        username="district", role="hq_staff", working_group="tracing", jurisdiction=tree["district"]
    )
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("#id_username", "district")
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # The tree: the district node, then expand the street in place (htmx) down to the grids.
    page.click("nav.sidebar >> text=辖区")
    page.wait_for_url(f"{base}/geo/320102/")
    assert page.inner_text("#people-count") == "5"
    page.click("button.expand >> nth=0")
    page.wait_for_selector("text=长江路社区")
    page.click("li:has(> a:text-is('长江路社区')) > button.expand")
    page.wait_for_selector("[data-code='320102001001G01']")
    assert page.inner_text("[data-code='320102001001G01']").startswith("3")

    # Search a person and open the detail page: the ID number is masked.
    target = people["a"][0]
    page.click("nav.sidebar >> text=人口")
    page.fill("input[name=q]", target.name)
    page.wait_for_selector(f"#results a:text-is('{target.name}')")
    page.click(f"#results a:text-is('{target.name}')")
    page.wait_for_selector(".id-number")
    shown = page.inner_text(".id-number")
    assert (
        shown != target.document_number
        and shown.endswith(target.document_number[-1])
        and "*" in shown
    )

    # Import a file with one good and two bad rows, then download the rejected rows.
    good = idnumber.make("320102", dt.date(1988, 3, 4), 21)
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "id_number,name,grid_code,phone\n"
        f"{good},周六,320102001001G01,13911112222\n"
        "320102198803040000,错号,320102001001G01,13911112223\n"
        f"{idnumber.make('320102', dt.date(1970, 1, 1), 31)},外区,320104001001G01,13911112224\n",
        encoding="utf-8",
    )
    page.click("nav.sidebar >> text=导入")
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("main form button[type=submit]")
    page.wait_for_selector("#rejected")
    assert page.inner_text("#created") == "1"
    assert page.inner_text("#rejected") == "2"
    with page.expect_download() as download_info:
        page.click("#download-rejected")
    rejected = download_info.value.path().read_text(encoding="utf-8-sig")
    assert "320102198803040000" in rejected and "外区" in rejected and good not in rejected
