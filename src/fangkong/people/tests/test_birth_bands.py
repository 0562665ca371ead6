"""Issue 11 point 3, the fields beside a masked number: no exact birth year or age pinned by
filters for roles that see only age bands."""

import datetime as dt

from rest_framework.test import APIClient

from fangkong.people.selectors import age
from fangkong.people.tests.factories import PersonFactory
from fangkong.tracing.tests.factories import at, open_case


def test_age_filters_of_roles_without_the_right_take_whole_bands(make_user, tree):
    today = dt.date.today()
    born_33 = PersonFactory(grid=tree["grid_a"], birth_date=dt.date(today.year - 33, 1, 1))
    born_36 = PersonFactory(grid=tree["grid_a"], birth_date=dt.date(today.year - 36, 1, 1))
    assert {age(born_33), age(born_36)} == {33, 36}
    query = {"age_min": 33, "age_max": 33}

    def found(role):
        client = APIClient()
        client.force_authenticate(make_user(role=role, node="city"))
        return {row["id"] for row in client.get("/api/v1/people/", query).json()["results"]}

    assert found("commander") == {born_33.pk, born_36.pk}  # the band 30-39
    assert found("epidemiologist") == {born_33.pk}


def test_the_case_page_shows_the_birth_year_only_to_roles_with_the_right(client, make_user, people):
    person = people["a"][0]
    case = open_case(person, reported_at=at("2022-04-12"))
    year = str(person.birth_date.year)
    client.force_login(make_user(role="commander", node="city"))
    page = client.get(f"/tracing/cases/{case.pk}/").content.decode()
    low = age(person) // 10 * 10
    assert f"{low}-{low + 9}" in page and f"· {year}" not in page
    client.force_login(make_user(role="epidemiologist", node="city"))
    assert f"· {year}" in client.get(f"/tracing/cases/{case.pk}/").content.decode()
