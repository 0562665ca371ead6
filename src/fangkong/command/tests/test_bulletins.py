"""Bulletins: figures and text from the data, anonymisation, the draft → approved → published flow."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fangkong.command import bulletin as composer
from fangkong.command import selectors, services
from fangkong.common import errors
from fangkong.people.tests.factories import PersonFactory

from .factories import ActivityFactory, CaseFactory

DAY = dt.date(2022, 4, 1)


@pytest.fixture
def cases(tree, people):
    people["a"][0].name, people["a"][0].sex = "王小明", "M"
    people["a"][0].birth_date = dt.date(1988, 4, 2)  # 33 on 1 April 2022, 34 the next day
    people["a"][0].save()
    people["b"][0].name, people["b"][0].sex = "欧阳娜娜", "F"
    people["b"][0].birth_date = dt.date(1990, 1, 1)
    people["b"][0].save()
    one = CaseFactory(
        person=people["a"][0], found_by="under_control", under_control_when_found=True
    )
    two = CaseFactory(
        person=people["b"][0], classification="asymptomatic", found_by="pool_screening"
    )
    three = CaseFactory(person=people["c"][0], found_by="fever_clinic")
    CaseFactory(person=PersonFactory(grid=tree["grid_c"]), classification="suspected")
    ActivityFactory(case=two, place="金鹰购物中心", address="汉中路 89 号")
    ActivityFactory(case=two, place="家中", public=False)
    return [one, two, three]


def test_data_by_district_and_how_found(tree, cases):
    data = composer.bulletin_data(node=tree["city"], day=DAY)
    assert data["totals"] == {"confirmed": 2, "asymptomatic": 1, "under_control": 1, "community": 2}
    assert [(d["name"], d["confirmed"], d["asymptomatic"]) for d in data["districts"]] == [
        ("玄武区", 1, 1),
        ("秦淮区", 1, 0),
    ]
    assert [(c["who"], c["sex"], c["age"]) for c in data["cases"]] == [
        ("王某", "M", 33),
        ("欧阳某", "F", 32),
        (
            composer.anonymised_name(cases[2].person.name),
            cases[2].person.sex,
            cases[2].person and composer.age_on(cases[2].person.birth_date, DAY),
        ),
    ]
    assert [p["place"] for p in data["places"]] == ["金鹰购物中心"]
    assert data["places"][0]["start"] == "10:00" and data["places"][0]["end"] == "10:40"


def test_text_in_chinese_and_english(tree, cases):
    data = composer.bulletin_data(node=tree["city"], day=DAY)
    title, text = composer.compose(data, "zh-hans")
    assert title == "南京市新冠肺炎疫情通报（2022年4月1日）"
    assert text.startswith(
        "4月1日0—24时，南京市新增本土确诊病例2例、无症状感染者1例，其中1例在管控人员中发现，2例在社会面筛查中发现。"
    )
    assert "玄武区：确诊病例1例、无症状感染者1例（管控内1例，社会面1例）。" in text
    assert "1. 王某，男，33岁，现住玄武区梅园新村街道，确诊病例，管控人员中发现。" in text
    assert "1. 金鹰购物中心（汉中路 89 号），3月31日 10:00–10:40（病例2）" in text
    assert "家中" not in text
    title_en, text_en = composer.compose(data, "en")
    assert title_en.startswith("南京市 epidemic bulletin for")
    # Issue 16: singulars and plurals right in English, never "1 were found".
    assert (
        "reported 2 new local confirmed cases and 1 new asymptomatic carrier; 1 was found among "
        "people already under control and 2 by screening in the community." in text_en
    )
    assert "2. 欧阳某, female, aged 32" in text_en


def test_no_full_name_id_number_or_phone(tree, cases):
    bulletin = services.bulletin_generate(actor=None, node=tree["city"], day=DAY)
    published = " ".join(
        [
            bulletin.title_zh,
            bulletin.body_zh,
            bulletin.title_en,
            bulletin.body_en,
            str(bulletin.data),
        ]
    )
    for case in cases:
        person = case.person
        assert person.name not in published
        assert person.document_number not in published
        assert person.phone not in published
    assert "王小明" not in published and "欧阳娜娜" not in published


GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛超霞刚桂兰"
SURNAMES = ["李", "赵", "孙", "周", "吴", "郑", "冯", "陈", "诸葛", "司马", "欧阳", "上官"]


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    family=st.sampled_from(SURNAMES),
    given_name=st.text(alphabet=GIVEN, min_size=1, max_size=3),
    phone=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
)
def test_anonymisation_keeps_only_the_surname(tree, people, family, given_name, phone):
    person = people["a"][1]
    person.name, person.phone = family + given_name, phone
    person.save()
    from fangkong.tracing.models import Case

    Case.objects.filter(person=person).delete()
    CaseFactory(person=person)
    data = composer.bulletin_data(node=tree["city"], day=DAY)
    texts = [*composer.compose(data, "zh-hans"), *composer.compose(data, "en"), str(data)]
    for text in texts:
        assert person.name not in text
        assert phone not in text
        assert person.document_number not in text
    assert data["cases"][0]["who"] == f"{family}某"


def test_surnames():
    assert composer.anonymised_name("张三") == "张某"
    assert composer.anonymised_name("诸葛亮") == "诸葛某"
    assert composer.anonymised_name("司马") == "司某"  # a two-character name is surname + given
    assert composer.anonymised_name(" Li  Wei ") == "L某"
    assert composer.anonymised_name("") == "?某"


def test_draft_edit_approve_publish_and_history(tree, cases, make_user, settings):
    settings.FANGKONG_BULLETIN_PDF = False
    staff = make_user(role="hq_staff", node="city")
    commander = make_user(role="commander", node="city")
    grid = make_user(node="grid_a")
    with pytest.raises(PermissionDenied):
        services.bulletin_generate(actor=grid, node=tree["city"], day=DAY)
    bulletin = services.bulletin_generate(actor=staff, node=tree["city"], day=DAY)
    assert bulletin.state == "draft"
    with pytest.raises(services.CommandRefused) as refused:
        services.bulletin_edit(
            actor=staff, bulletin=bulletin, title_zh="x", body_zh="联系电话 13812345678"
        )
    assert refused.value.code == "personal_numbers"
    services.bulletin_edit(
        actor=staff,
        bulletin=bulletin,
        title_zh=bulletin.title_zh,
        body_zh=bulletin.body_zh + "\n\n特此通报。",
    )
    # An edited draft is not overwritten when the data is generated again.
    again = services.bulletin_generate(actor=staff, node=tree["city"], day=DAY)
    assert again.pk == bulletin.pk and again.body_zh.endswith("特此通报。")
    with pytest.raises(services.CommandRefused) as refused:
        services.bulletin_publish(actor=staff, bulletin=again)
    assert refused.value.code == "not_approved"
    with pytest.raises(PermissionDenied):
        services.bulletin_approve(actor=staff, bulletin=again)
    approved = services.bulletin_approve(actor=commander, bulletin=again)
    with pytest.raises(services.CommandRefused) as refused:
        services.bulletin_edit(actor=staff, bulletin=approved, title_zh="x", body_zh="y")
    assert refused.value.code == "not_draft"
    published = services.bulletin_publish(actor=staff, bulletin=approved, pdf_html="<p>x</p>")
    assert (published.state, published.published_by, bool(published.pdf)) == (
        "published",
        staff,
        False,
    )
    # The district reads the city's published bulletin; the other district's draft stays hidden.
    other = services.bulletin_generate(actor=None, node=tree["district2"], day=DAY)
    district = make_user(role="hq_staff", node="district")
    assert list(selectors.bulletin_list(actor=district)) == [published]
    assert list(selectors.bulletin_list(actor=district, published_only=True)) == [published]
    with pytest.raises(errors.NotFound):
        selectors.access_bulletin(district, other.pk)
