"""The daily public bulletin: its figures from the data, anonymised, and its text in both languages.

Personal details never leave this module in full: `bulletin_data` reads each case's person and
keeps only the surname + 某, the sex and the age in years (the form official bulletins use); the
name, ID number and phone are not copied anywhere. The text is composed once per language from
the same data through the app's translation catalog.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from fangkong.common import paths
from fangkong.geo.models import Jurisdiction, Level

# Two-character surnames in use today; every other name's surname is its first character.
COMPOUND_SURNAMES = frozenset(
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 "
    "宗政 濮阳 公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 "
    "司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延 "
    "东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 左丘 公伯 西门 公祖 "
    "第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 褚师".split()
)
MAX_CASES_LISTED = 100
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def surname(name: str) -> str:
    """The surname of a Chinese name; for a name in Latin letters, its first letter."""
    name = "".join((name or "").split())
    if not name:
        return ""
    if _CJK.match(name):
        if name[:2] in COMPOUND_SURNAMES and len(name) > 2:
            return name[:2]
        return name[0]
    return name[0].upper()


def anonymised_name(name: str) -> str:
    """'张三' -> '张某', '欧阳娜娜' -> '欧阳某': never the given name."""
    return f"{surname(name) or '?'}某"


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    if birth_date is None:
        return None
    years = day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
    return max(years, 0)


def bulletin_data(*, node: Jurisdiction, day: dt.date) -> dict:
    """The bulletin's figures: new confirmed and asymptomatic cases of the day by district and by
    how they were found, each case anonymised, and the public places they visited. Three queries."""
    from fangkong.tracing.models import Activity, Case, Classification, FoundBy

    positive = [Classification.CONFIRMED, Classification.ASYMPTOMATIC]
    cases = list(
        Case.objects.filter(
            jpath__startswith=node.path, report_date=day, classification__in=positive
        )
        .select_related("person")
        .only(
            "id",
            "jpath",
            "classification",
            "found_by",
            "under_control_when_found",
            "person__name",
            "person__sex",
            "person__birth_date",
        )
        .order_by("reported_at", "id")
    )
    places = {
        j.path: j
        for j in Jurisdiction.objects.filter(
            path__startswith=node.path, level__in=[Level.DISTRICT, Level.STREET]
        ).only("path", "name", "name_en", "level")
    }

    def containing(path: str, level: str) -> Jurisdiction | None:
        for above in reversed(paths.ancestors(path)):
            found = places.get(above)
            if found is not None and found.level == level:
                return found
        return None

    districts: dict[str, dict] = {}
    rows = []
    for n, case in enumerate(cases, start=1):
        district = containing(case.jpath, Level.DISTRICT)
        street = containing(case.jpath, Level.STREET)
        under_control = case.under_control_when_found or case.found_by == FoundBy.UNDER_CONTROL
        key = district.path if district else ""
        entry = districts.setdefault(
            key,
            {
                "name": district.name if district else "",
                "name_en": (district.name_en or district.name) if district else "",
                "confirmed": 0,
                "asymptomatic": 0,
                "under_control": 0,
                "community": 0,
            },
        )
        entry[case.classification] += 1
        entry["under_control" if under_control else "community"] += 1
        rows.append(
            {
                "n": n,
                "case_id": case.pk,
                "who": anonymised_name(case.person.name),
                "sex": case.person.sex,
                "age": age_on(case.person.birth_date, day),
                "classification": case.classification,
                "under_control": under_control,
                "found_by": case.found_by,
                "district": district.name if district else "",
                "district_en": (district.name_en or district.name) if district else "",
                "street": street.name if street else "",
                "street_en": (street.name_en or street.name) if street else "",
            }
        )
    # Places of the last 14 days before the report, public ones only (a home is never published).
    since = dt.datetime.combine(day - dt.timedelta(days=14), dt.time.min)
    activity = (
        Activity.objects.filter(
            Q(case_id__in=[c.pk for c in cases]),
            public=True,
            start__gte=timezone.make_aware(since),
        )
        .order_by("start", "id")
        .values("case_id", "place", "address", "start", "end")
    )
    case_n = {r["case_id"]: r["n"] for r in rows}
    visited = []
    for a in activity:
        start = timezone.localtime(a["start"])
        end = timezone.localtime(a["end"]) if a["end"] else None
        visited.append(
            {
                "case": case_n[a["case_id"]],
                "place": a["place"],
                "address": a["address"],
                "date": start.date().isoformat(),
                "start": start.strftime("%H:%M"),
                "end": end.strftime("%H:%M") if end else "",
            }
        )
    totals = {
        key: sum(d[key] for d in districts.values())
        for key in ("confirmed", "asymptomatic", "under_control", "community")
    }
    return {
        "node": node.name,
        "node_en": node.name_en or node.name,
        "day": day.isoformat(),
        "totals": totals,
        "districts": sorted(
            districts.values(), key=lambda d: (-d["confirmed"] - d["asymptomatic"], d["name"])
        ),
        "cases": rows,
        "places": visited,
    }


def _month_day(day: dt.date, en: bool) -> str:
    # Django's zh-hans MONTH_DAY_FORMAT pads the month ("04月1日"); bulletins write "4月1日".
    return formats.date_format(day, "j F") if en else f"{day.month}月{day.day}日"


def compose(data: dict, language: str) -> tuple[str, str]:
    """(title, text) of the bulletin in `language` ('zh-hans' or 'en'), from `bulletin_data`."""
    from fangkong.tracing.models import FoundBy

    en = language.startswith("en")
    with translation.override(language):
        day = dt.date.fromisoformat(data["day"])
        date = _month_day(day, en)
        node = data["node_en"] if en else data["node"]
        t = data["totals"]
        title = _("%(node)s epidemic bulletin for %(date)s") % {
            "node": node,
            "date": formats.date_format(day, "DATE_FORMAT"),
        }
        parts = []
        if (t["confirmed"] or t["asymptomatic"]) and en:
            parts.append(_english_cases_sentence(date, node, t))
        elif t["confirmed"] or t["asymptomatic"]:
            parts.append(
                _(
                    "From 0:00 to 24:00 on %(date)s, %(node)s reported %(confirmed)s new local "
                    "confirmed case(s) and %(asymptomatic)s new asymptomatic carrier(s); "
                    "%(under_control)s were found among people already under control and "
                    "%(community)s by screening in the community."
                )
                % {"date": date, "node": node, **t}
            )
        else:
            parts.append(
                _(
                    "From 0:00 to 24:00 on %(date)s, %(node)s reported no new local confirmed "
                    "case and no new asymptomatic carrier."
                )
                % {"date": date, "node": node}
            )
        if data["districts"]:
            lines = [_("By district:")]
            for d in data["districts"]:
                lines.append(
                    _(
                        "%(district)s: %(confirmed)s confirmed, %(asymptomatic)s asymptomatic "
                        "(%(under_control)s under control, %(community)s in the community)."
                    )
                    % {**d, "district": (d["name_en"] if en else d["name"]) or _("other")}
                )
            parts.append("\n".join(lines))
        if data["cases"]:
            lines = [_("The cases:")]
            for c in data["cases"][:MAX_CASES_LISTED]:
                how = (
                    _("found among people under control")
                    if c["under_control"]
                    else _("found in the community (%(found_by)s)")
                    % {"found_by": str(FoundBy(c["found_by"]).label)}
                )
                lines.append(
                    _(
                        "%(n)s. %(who)s, %(sex)s, aged %(age)s, lives in %(street)s, %(district)s; "
                        "%(class)s, %(how)s."
                    )
                    % {
                        "n": c["n"],
                        "who": c["who"],
                        "sex": _("male") if c["sex"] == "M" else _("female"),
                        "age": c["age"] if c["age"] is not None else "?",
                        "street": c["street_en"] if en else c["street"],
                        "district": c["district_en"] if en else c["district"],
                        "class": _("confirmed case")
                        if c["classification"] == "confirmed"
                        else _("asymptomatic carrier"),
                        "how": how,
                    }
                )
            more = len(data["cases"]) - MAX_CASES_LISTED
            if more > 0:
                lines.append(
                    ngettext("and %(n)s more case.", "and %(n)s more cases.", more) % {"n": more}
                )
            parts.append("\n".join(lines))
        if data["places"]:
            lines = [_("Public places the cases visited:")]
            for i, p in enumerate(data["places"], start=1):
                when = _month_day(dt.date.fromisoformat(p["date"]), en)
                span = f"{p['start']}–{p['end']}" if p["end"] else p["start"]
                where = f"{p['place']} ({p['address']})" if p["address"] and en else p["place"]
                if p["address"] and not en:
                    where = f"{p['place']}（{p['address']}）"
                lines.append(
                    _("%(i)s. %(where)s, %(when)s %(span)s (case %(case)s)")
                    % {"i": i, "where": where, "when": when, "span": span, "case": p["case"]}
                )
            parts.append("\n".join(lines))
            parts.append(
                _(
                    "Anyone whose movements overlapped with the places and times above should "
                    "report to their community at once, take a nucleic-acid test and follow the "
                    "health-management measures."
                )
            )
        parts.append(
            _(
                "Please keep wearing masks, wash your hands often and keep your distance; get "
                "tested when your area is called."
            )
        )
        return title, "\n\n".join(parts)


# An 18-character resident ID number or an 11-digit mobile number, as they would appear in a
# hand-edited text; the editor refuses to save a draft that carries one.
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def carries_personal_numbers(text: str) -> bool:
    return bool(_ID_NUMBER.search(text) or _MOBILE.search(text))


def _english_cases_sentence(date: str, node: str, t: dict) -> str:
    """The English opening with singulars and plurals right ("1 case ... 1 was found"); Chinese
    has no plural, so its catalog keeps one sentence."""
    confirmed = ngettext(
        "%(n)s new local confirmed case", "%(n)s new local confirmed cases", t["confirmed"]
    ) % {"n": t["confirmed"]}
    carriers = ngettext(
        "%(n)s new asymptomatic carrier", "%(n)s new asymptomatic carriers", t["asymptomatic"]
    ) % {"n": t["asymptomatic"]}
    under = ngettext(
        "%(n)s was found among people already under control",
        "%(n)s were found among people already under control",
        t["under_control"],
    ) % {"n": t["under_control"]}
    return (
        f"From 0:00 to 24:00 on {date}, {node} reported {confirmed} and {carriers}; {under} "
        f"and {t['community']} by screening in the community."
    )
