"""The bed board pages a big hospital: 200 beds a page, a ward and a state to narrow it."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.care import services
from fangkong.care.models import Unit

from .factories import make_case, make_fangcang


def test_cabin_hospital_board_is_paged_and_filtered(tree, people, make_user, client):
    cabin = make_fangcang(tree["district"], code="FC", beds=450)
    stays = [
        services.admission_create(actor=None, case=make_case(p, severity="mild"), facility=cabin)
        for p in people["a"]
    ]
    client.force_login(make_user(role="hospital_staff", node="district"))
    url = f"/care/facilities/{cabin.pk}/"
    first = client.get(url).content.decode()
    assert first.count('<div class="bed ') == 200
    assert "Beds 1–200 of 450" in first and "1 / 3" in first
    # The three patients' beds link to their stays on the page that holds them.
    for stay in stays:
        assert f'href="/care/admissions/{stay.pk}/"' in first
    last = client.get(url, {"page": 3}).content.decode()
    assert last.count('<div class="bed ') == 50 and "Beds 401–450 of 450" in last
    assert "<h2>Nursing unit 23 " in last and "<h2>Nursing unit 1 " not in last
    occupied = client.get(url, {"state": "occupied"}).content.decode()
    assert occupied.count('<div class="bed occupied"') == 3 and "Beds 1–3 of 3" in occupied
    unit = Unit.objects.get(facility=cabin, number=2)
    one_unit = client.get(url, {"unit": unit.pk, "state": "vacant"}).content.decode()
    assert one_unit.count('<div class="bed vacant"') == 20 and "<h2>Nursing unit 2 " in one_unit
    # The pager keeps the filters.
    paged = client.get(url, {"state": "vacant"}).content.decode()
    assert "?state=vacant&amp;page=2" in paged
    # A page costs the same queries whatever the hospital holds.
    with CaptureQueriesContext(connection) as small:
        client.get(url, {"page": 3})
    with CaptureQueriesContext(connection) as big:
        client.get(url, {"page": 1})
    assert len(big) == len(small)
    # Another district's staff: 404.
    client.force_login(make_user(role="hospital_staff", node="district2"))
    assert client.get(url).status_code == 404
