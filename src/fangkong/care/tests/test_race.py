"""Two admissions racing for the last ICU bed on PostgreSQL: one wins, the other a clear error."""

import threading

import pytest
from django.db import connection, connections

from fangkong.care import services
from fangkong.care.models import Admission, Bed

from .factories import make_case, make_hospital

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks (SELECT ... FOR UPDATE SKIP LOCKED) need PostgreSQL; SQLite serialises writers",
)


@pytest.mark.django_db(transaction=True)
def test_two_admissions_race_for_the_last_icu_bed(tree, people):
    make_hospital(tree["district"], icu=1, general=3)
    cases = [
        make_case(people["a"][0], severity="critical"),
        make_case(people["a"][1], severity="critical"),
    ]
    barrier = threading.Barrier(2)
    outcomes = {}

    def admit(case):
        try:
            barrier.wait()
            outcomes[case.pk] = services.admission_create(actor=None, case=case).bed_id
        except services.CareError as exc:
            outcomes[case.pk] = exc.code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=admit, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bed = Bed.objects.get(bed_type="icu")
    assert bed.state == "occupied"
    assert sorted(map(str, outcomes.values())) == sorted([str(bed.pk), "no_bed"])
    assert Admission.objects.filter(bed=bed).count() == 1
    assert Bed.objects.filter(state="occupied").count() == 1
