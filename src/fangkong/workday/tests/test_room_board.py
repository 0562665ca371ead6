"""The isolation desk works from the room board: a walk-in checked into a vacant room with a
person search, a room released and its cleaning ended, all through control's services."""

import pytest

from fangkong.audit.models import AuditEntry
from fangkong.control.models import ControlOrder, Room, Stay
from fangkong.control.tests.factories import make_site, open_order


@pytest.fixture
def site(tree):
    return make_site(tree["grid_a"], code="WALK", rooms=2)


def rooms(site):
    return list(Room.objects.filter(site=site).order_by("number"))


def test_walk_in_without_an_order_is_checked_into_the_chosen_room(client, make_user, site, people):
    desk = make_user(role="isolation_staff", node="community")
    client.force_login(desk)
    person = people["a"][0]
    first, second = rooms(site)
    page = client.get(
        f"/control/sites/{site.pk}/?room={second.pk}&q={person.name}"
    ).content.decode()
    assert person.name in page and 'value="walk_in"' in page and "在此入住" in page
    response = client.post(
        f"/control/sites/{site.pk}/rooms/{second.pk}/",
        {"action": "walk_in", "person": person.pk, "category": "close_contact"},
    )
    assert response.status_code == 302
    order = ControlOrder.objects.get(person=person, status="open")
    assert order.room_id == second.pk and order.source == "walk_in"
    assert order.measure == "centralized"
    stay = Stay.objects.get(order=order)
    assert stay.checked_in_at is not None
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.state, second.state) == ("vacant", "occupied")
    assert AuditEntry.objects.filter(
        object_id=str(order.pk), changes__walk_in=[None, True]
    ).exists()
    board = client.get(f"/control/sites/{site.pk}/").content.decode()
    assert person.name in board  # the occupant's name on the room tile


def test_walk_in_with_an_open_order_needs_no_reason(client, make_user, site, people):
    client.force_login(make_user(role="isolation_staff", node="community"))
    order = open_order(people["a"][1], category="close_contact")
    room = rooms(site)[0]
    client.post(
        f"/control/sites/{site.pk}/rooms/{room.pk}/",
        {"action": "walk_in", "person": people["a"][1].pk},
    )
    order.refresh_from_db()
    assert order.room_id == room.pk


def test_an_occupied_room_refuses_a_second_walk_in_with_a_message(client, make_user, site, people):
    client.force_login(make_user(role="isolation_staff", node="community"))
    room = rooms(site)[0]
    url = f"/control/sites/{site.pk}/rooms/{room.pk}/"
    client.post(
        url, {"action": "walk_in", "person": people["a"][0].pk, "category": "close_contact"}
    )
    response = client.post(
        url,
        {"action": "walk_in", "person": people["a"][1].pk, "category": "close_contact"},
        follow=True,
    )
    assert response.status_code == 200
    assert not ControlOrder.objects.filter(person=people["a"][1]).exists()  # rolled back
    messages = [str(m) for m in response.context["messages"]]
    assert messages[-1] == f"房间 {room.number} 不是空闲状态。"


def test_release_then_cleaning_done(client, make_user, site, people):
    client.force_login(make_user(role="isolation_staff", node="community"))
    room = rooms(site)[0]
    url = f"/control/sites/{site.pk}/rooms/{room.pk}/"
    client.post(
        url, {"action": "walk_in", "person": people["a"][0].pk, "category": "close_contact"}
    )
    client.post(url, {"action": "check_out"})
    room.refresh_from_db()
    assert room.state == "cleaning"
    assert ControlOrder.objects.get(person=people["a"][0]).room_id is None
    client.post(url, {"action": "state", "state": "vacant"})
    room.refresh_from_db()
    assert room.state == "vacant"


def test_person_outside_the_jurisdiction_is_404(client, make_user, site, people):
    client.force_login(make_user(role="isolation_staff", node="community"))
    room = rooms(site)[0]
    response = client.post(
        f"/control/sites/{site.pk}/rooms/{room.pk}/",
        {"action": "walk_in", "person": people["c"][0].pk, "category": "close_contact"},
    )
    assert response.status_code == 404
    room.refresh_from_db()
    assert room.state == "vacant"


def test_site_of_another_district_is_404(client, make_user, site):
    client.force_login(make_user(role="isolation_staff", node="district2"))
    assert client.get(f"/control/sites/{site.pk}/").status_code == 404
    room = rooms(site)[0]
    assert (
        client.post(
            f"/control/sites/{site.pk}/rooms/{room.pk}/",
            {"action": "state", "state": "out_of_service"},
        ).status_code
        == 404
    )


def test_grid_worker_sees_the_board_but_may_not_act(client, make_user, site, people):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    room = rooms(site)[0]
    page = client.get(
        f"/control/sites/{site.pk}/?room={room.pk}&q={people['a'][0].name}"
    ).content.decode()
    assert 'name="action"' not in page
    response = client.post(
        f"/control/sites/{site.pk}/rooms/{room.pk}/", {"action": "state", "state": "out_of_service"}
    )
    assert response.status_code == 403


def test_a_big_site_is_paged_with_floor_and_state_filters(client, make_user, tree, people):
    big = make_site(tree["grid_a"], code="BIG", floors=12, rooms=25)
    order = open_order(people["a"][0])
    top = Room.objects.get(site=big, floor__number=12, number="1201")
    Room.objects.filter(pk=top.pk).update(state="occupied")
    ControlOrder.objects.filter(pk=order.pk).update(room=top)
    client.force_login(make_user(role="isolation_staff", node="community"))
    url = f"/control/sites/{big.pk}/"
    first = client.get(url).content.decode()
    # 300 rooms: 200 a page, top floor first, with the occupant's name on their room.
    assert first.count('<a class="room ') == 200 and "1 / 2" in first
    assert "房间 1–200，共 300 间" in first and "12 层" in first and "4 层" not in first
    assert people["a"][0].name in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('<a class="room ') == 100 and "1 层" in second
    # A room link keeps the page it was clicked on.
    assert "page=2&amp;room=" in second
    floor = client.get(url, {"floor": 3}).content.decode()
    assert floor.count('<a class="room ') == 25 and "3 层" in floor
    occupied = client.get(url, {"state": "occupied"}).content.decode()
    assert occupied.count('<a class="room occupied') == 1 and 'data-room="1201"' in occupied
