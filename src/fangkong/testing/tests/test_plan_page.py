"""The plan page: what a 24-hour round needs; bad numbers in its query are a 400, not a 500."""


def test_the_plan_page_refuses_bad_numbers_with_a_400_page(client, make_user, tree):
    client.force_login(make_user(role="hq_staff", node="city"))
    assert client.get("/testing/plan/", {"hours": 12, "pool": 10}).status_code == 200
    for bad in ({"hours": "x"}, {"hours": 0}, {"pool": 99}):
        answer = client.get("/testing/plan/", bad)
        assert answer.status_code == 400, bad
        assert 'data-code="invalid"' in answer.content.decode()


def test_the_plan_page_shows_expected_retests_and_the_recommended_pool(client, make_user, people):
    client.force_login(make_user(role="hq_staff", node="city"))
    page = client.get("/testing/plan/", {"pool": 10, "prevalence": "5"}).content.decode()
    # District 320102 has 5 people: one tube, 5 × (1 − 0.95^10) = 2.007 → 3 re-tests budgeted.
    row = page.split('data-node="320102"')[1].split("</tr>")[0]
    assert '<td class="num" data-retests>3</td>' in row
    assert "5:1" in row
    assert "0.5013" in row


def test_the_plan_command_prints_the_retest_budget(people, tree):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("testing", "plan", "--scope", "320100", "--prevalence", "1", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split(",")[6:13] == [
        "prevalence_pct",
        "prevalence_from",
        "retests",
        "tests",
        "tests_per_person",
        "best_pool",
        "best_tests_per_person",
    ]
    first = lines[1].split(",")
    assert first[0] == "320102"
    assert first[6:13] == ["1.0000", "input", "1", "2", "0.1956", "10", "0.1956"]
