"""No raw code and no untranslated English on any page of the Chinese UI, and no Chinese UI
string in the English one (issue 16 point 5).

Every page comes from the URL resolver, with the objects of the adversarial sweep's city
(tests/test_adversarial.py builds it once per module; a new app's pages are walked without a
line written here). The visible text of each page (text nodes outside script, style and code,
and the title/placeholder/aria-label attributes; an element marked ``translate="no"`` holds data
and is skipped, as the HTML standard means it) is compared with:

* in Chinese: every stored code of every model's choices (``venue``, ``confirmed``...), every
  English msgid of the catalogs (a string the catalog knows but the page did not translate) and
  any run of two or more English words that is neither (a string no catalog knows);
* in English: every Chinese msgstr of the catalogs (a UI string of the Chinese catalog shown in
  English; Chinese place and person names are data, and are no catalog's msgstr).

A failure lists page → offending text, so the fix is one line in a template or a catalog.
"""

from __future__ import annotations

import re
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.test import Client

from tests.test_adversarial import city, page_targets  # noqa: F401  (the sweep's city fixture)

SRC = Path(__file__).resolve().parents[1] / "src" / "fangkong"
# Pages whose Chinese in English mode is stored data, not the UI: each names its reason.
KNOWN_STORED = {
    "/people/import/": "an import's rejection reasons are stored in the language of the import "
    "(common.imports writes translated text); storing the msgid is issue-16 follow-up work",
}
USERS = ["commander", "epidemiologist", "grid_worker", "auditor", "city:commander"]
SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "svg"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
ATTRS = ("title", "placeholder", "aria-label")
# English a Chinese page may show: units, abbreviations and names used as they are in Chinese.
ALLOWED_ENGLISH = {
    "Rt",
    "CT",
    "Ct",
    "ID",
    "PDF",
    "CSV",
    "XLSX",
    "API",
    "QR",
    "ICU",
    "SpO₂",
    "PaO₂/FiO₂",
    "Fangkong",
    "Plotly",
    "HTTP",
    "JSON",
    "OpenAPI",
    "Excel",
    "English",
    "h",
    "km",
    "GB",
}
WORDS_RE = re.compile(r"[A-Za-z][A-Za-z'’-]+(?:\s+[A-Za-z][A-Za-z'’-]+)+")
CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{2,}")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _hidden(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        skip = tag in SKIP_TAGS or values.get("translate") == "no"
        if not skip and not self._hidden():
            self.texts += [values[a] for a in ATTRS if values.get(a)]
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        values = dict(attrs)
        if not self._hidden() and values.get("translate") != "no":
            self.texts += [values[a] for a in ATTRS if values.get(a)]

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return parser.texts


def raw_codes() -> set[str]:
    """Every stored code of a choice field that reads as a word (``venue``, ``home_isolation``)."""
    codes = set()
    for model in apps.get_models():
        if not model.__module__.startswith("fangkong."):
            continue
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and re.fullmatch(r"[a-z][a-z_]{3,}", value):
                    codes.add(value)
    return codes


def catalogs() -> tuple[set[str], set[str]]:
    """(English msgids translated to something else, Chinese msgstrs) of every catalog."""
    msgids, msgstrs = set(), set()
    for path in SRC.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"):
        for entry in polib.pofile(str(path)):
            if entry.obsolete:
                continue
            translated = {entry.msgstr, *entry.msgstr_plural.values()}
            for text in [entry.msgid, entry.msgid_plural]:
                if text and "%" not in text and "{" not in text and text not in translated:
                    msgids.add(text)
            for text in [entry.msgstr, *entry.msgstr_plural.values()]:
                if text and "%" not in text and CJK_RE.search(text):
                    msgstrs.add(text)
    return msgids, msgstrs


def _walk(city, who: str, language: str):  # noqa: F811
    web = Client()
    web.force_login(city.users[who])
    web.cookies["django_language"] = language
    for url, _side in page_targets(city):
        response = web.get(url, HTTP_ACCEPT_LANGUAGE=language)
        ctype = response.get("Content-Type", "")
        if response.status_code != 200 or "text/html" not in ctype or response.streaming:
            continue
        yield url, visible_texts(response.content.decode())


def chinese_problems(texts: list[str], codes: set[str], msgids: set[str]) -> list[str]:
    found = []
    for text in texts:
        words = set(re.findall(r"[A-Za-z][A-Za-z_]+", text))
        if text in msgids:
            found.append(f"untranslated: {text!r}")
        elif (
            words & codes
            and not CJK_RE.search(text)
            and text.strip() in codes | {f"{a} / {b}" for a in words for b in words}
        ):
            found.append(f"raw code: {text!r}")
        elif any(w in codes for w in re.findall(r"[a-z][a-z_]{3,}", text)) and "_" in text:
            found.append(f"raw code: {text!r}")
        else:
            for run in WORDS_RE.findall(text):
                # A word in capitals is a code: the run is a name of data ("Site XWACS").
                if any(CODE_RE.fullmatch(w) for w in run.split()):
                    continue
                if not set(run.split()) <= ALLOWED_ENGLISH:
                    found.append(f"English: {run!r} in {text[:80]!r}")
    return found


@pytest.mark.parametrize("who", USERS)
def test_chinese_pages_show_no_raw_code_and_no_english(city, who, db):  # noqa: F811
    codes = raw_codes()
    msgids, _msgstrs = catalogs()
    by_page = defaultdict(set)
    for url, texts in _walk(city, who, "zh-hans"):
        for problem in chinese_problems(texts, codes, msgids):
            by_page[url].add(problem)
    assert not by_page, "\n".join(
        f"{url}: {p}" for url, problems in sorted(by_page.items()) for p in sorted(problems)
    )


@pytest.mark.parametrize("who", USERS)
def test_english_pages_show_no_chinese_ui_string(city, who, db):  # noqa: F811
    _msgids, msgstrs = catalogs()
    by_page = defaultdict(set)
    for url, texts in _walk(city, who, "en"):
        if any(url.startswith(prefix) for prefix in KNOWN_STORED):
            continue
        for text in texts:
            if text in msgstrs:
                by_page[url].add(text)
    assert not by_page, "\n".join(
        f"{url}: {t!r}" for url, texts in sorted(by_page.items()) for t in sorted(texts)
    )


def test_the_detector_sees_codes_and_english():
    codes = {"venue", "home_isolation", "confirmed"}
    texts = visible_texts(
        '<p title="Open the case">病例</p><td>venue</td><td>home_isolation</td>'
        '<td translate="no">status: open → closed</td><script>var a = "Some English";</script>'
        "<td>原级别</td>"
    )
    assert texts == ["Open the case", "病例", "venue", "home_isolation", "原级别"]
    found = chinese_problems(texts, codes, {"Open the case"})
    assert found == [
        "untranslated: 'Open the case'",
        "raw code: 'venue'",
        "raw code: 'home_isolation'",
    ]
