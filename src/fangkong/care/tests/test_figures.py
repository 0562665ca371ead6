"""Care's provider for the daily reports and the HQ dashboard: beds by type within a subtree."""

import datetime as dt

from fangkong.care import services
from fangkong.care.figures import bed_figures
from fangkong.care.models import Bed
from fangkong.command import figures

from .factories import make_case, make_fangcang, make_hospital

DAY = dt.date(2022, 4, 20)


def test_beds_by_type_within_the_subtree(tree, people):
    hospital = make_hospital(tree["district"], icu=2, general=4)
    make_fangcang(tree["district2"], beds=200)
    services.admission_create(actor=None, case=make_case(people["a"][0], severity="critical"))
    spare = Bed.objects.filter(facility=hospital, bed_type="general").order_by("number").first()
    services.bed_state_set(actor=None, bed=spare, state=Bed.State.OUT_OF_SERVICE)
    district = bed_figures(tree["district"].path, DAY)
    assert district == {
        "beds_total_icu": 2,
        "beds_free_icu": 1,
        "beds_occupied_icu": 1,
        "beds_total_general": 3,
        "beds_free_general": 3,
        "beds_occupied_general": 0,
        "beds_total_fangcang": 0,
        "beds_free_fangcang": 0,
        "beds_occupied_fangcang": 0,
        "patients_in_hospital": 1,
    }
    city = figures.collect(tree["city"].path, DAY)
    assert city["beds_total_fangcang"] == 200 and city["beds_free_icu"] == 1
    assert bed_figures(tree["grid_c"].path, DAY) == {}


def test_daily_report_rolls_beds_up(tree, people):
    make_hospital(tree["district"], icu=2, general=4)
    make_fangcang(tree["district2"], beds=200)
    children = [figures.collect(tree[n].path, DAY) for n in ("district", "district2")]
    rolled = figures.roll_up(children)
    assert rolled["beds_total_general"] == 4 and rolled["beds_free_fangcang"] == 200
    assert "beds_total_icu" in figures.labels()
