"""The plan page: what a 24-hour round needs; bad numbers in its query are a 400, not a 500."""


def test_the_plan_page_refuses_bad_numbers_with_a_400_page(client, make_user, tree):
    client.force_login(make_user(role="hq_staff", node="city"))
    assert client.get("/testing/plan/", {"hours": 12, "pool": 10}).status_code == 200
    for bad in ({"hours": "x"}, {"hours": 0}, {"pool": 99}):
        answer = client.get("/testing/plan/", bad)
        assert answer.status_code == 400, bad
        assert 'data-code="invalid"' in answer.content.decode()
