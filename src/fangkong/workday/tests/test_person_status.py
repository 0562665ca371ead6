"""The person page says whether the person was tested, is under control, is a case or a lead."""

from django.conf import settings

from fangkong.control.tests.factories import open_order
from fangkong.tracing.tests.factories import open_case


def test_person_page_shows_control_and_case(client, make_user, people):
    person = people["a"][0]
    order = open_order(person, category="close_contact")
    case = open_case(person)
    client.force_login(make_user(role="epidemiologist", node="district"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"/people/{person.pk}/")
    rows = {row["key"]: row for row in response.context["status"]}
    assert rows["test"]["value"] == "never sampled"
    assert rows["control"]["value"].startswith(order.get_measure_display())
    assert rows["case"]["value"].startswith(case.code)
    assert rows["case"]["url"] == f"/tracing/cases/{case.pk}/"
    assert f'href="/tracing/cases/{case.pk}/"' in response.content.decode()


def test_person_without_anything_is_plainly_so(client, make_user, people):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    response = client.get(f"/people/{people['a'][2].pk}/")
    rows = {row["key"]: row["value"] for row in response.context["status"]}
    assert rows == {"test": "从未采样", "control": "未管控"}


def test_person_of_another_district_is_404(client, make_user, people):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    assert client.get(f"/people/{people['c'][0].pk}/").status_code == 404
