"""Two assignments racing for the last room on PostgreSQL: one wins, the other gets a clear error."""

import threading

import pytest
from django.db import connection, connections

from fangkong.control import services
from fangkong.control.models import ControlOrder, Room
from fangkong.control.presets import policy_presets_ensure

from .factories import make_site, open_order

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks (SELECT ... FOR UPDATE SKIP LOCKED) need PostgreSQL; SQLite serialises writers",
)


@pytest.mark.django_db(transaction=True)
def test_two_assignments_race_for_the_last_room(tree, people):
    # An earlier transactional test may have flushed the presets the migration loaded.
    policy_presets_ensure()
    make_site(tree["district"], rooms=1)
    orders = [open_order(people["a"][0]), open_order(people["a"][1])]
    barrier = threading.Barrier(2)
    outcomes = {}

    def assign(order):
        try:
            barrier.wait()
            outcomes[order.pk] = services.room_assign(actor=None, order=order).pk
        except services.ControlError as exc:
            outcomes[order.pk] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=assign, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    room = Room.objects.get()
    assert room.state == "occupied"
    assert sorted(map(str, outcomes.values())) == sorted([str(room.pk), "no_room"])
    assert ControlOrder.objects.filter(room=room).count() == 1
