"""The poster: its QR code (in the PNG and in the PDF) decodes to the place's scan address."""

import io

import pytest

from fangkong.accounts.roles import Role
from fangkong.places import poster

from .factories import city_of_two, make_place, user

pytestmark = pytest.mark.django_db
zxingcpp = pytest.importorskip("zxingcpp", reason="the dev extra (zxing-cpp) decodes QR codes")


def decode(image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.fixture
def place_and_commander(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    _city, a, _b = city_of_two()
    place = make_place(a.community, name_en="Hongshan Farmers' Market")
    return place, user(Role.COMMANDER, a.node)


def test_the_png_poster_holds_the_scan_address(client, place_and_commander):
    from PIL import Image

    place, commander = place_and_commander
    client.force_login(commander)
    answer = client.get(f"/places/{place.pk}/poster.png")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(answer.content))
    assert image.size == poster.A4_150DPI
    assert decode(image) == [f"http://testserver/v/{place.token}/"]


def test_the_pdf_poster_holds_the_scan_address(client, place_and_commander):
    pdfium = pytest.importorskip("pypdfium2", reason="the dev extra renders PDF pages")
    place, commander = place_and_commander
    client.force_login(commander)
    answer = client.get(f"/places/{place.pk}/poster.pdf")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    assert answer["X-Poster-Made-By"] in ("chromium", "raster")
    document = pdfium.PdfDocument(answer.content)
    assert len(document) == 1
    image = document[0].render(scale=2).to_pil()
    assert decode(image) == [f"http://testserver/v/{place.token}/"]


def test_the_raster_pdf_when_chromium_is_missing(monkeypatch, place_and_commander):
    pdfium = pytest.importorskip("pypdfium2", reason="the dev extra renders PDF pages")
    place, _commander = place_and_commander
    monkeypatch.setattr("fangkong.command.pdf.chromium", lambda: None)
    data, how = poster.poster_pdf(place, "https://fk.example.cn/v/ABC/")
    assert how == "raster"
    image = pdfium.PdfDocument(data)[0].render(scale=2).to_pil()
    assert decode(image) == ["https://fk.example.cn/v/ABC/"]


def test_the_public_address_setting_wins(settings, place_and_commander):
    place, _commander = place_and_commander
    settings.FANGKONG_PUBLIC_URL = "https://fk.nanjing.gov.cn/"
    assert poster.scan_url(place, "http://internal:8000/") == (
        f"https://fk.nanjing.gov.cn/v/{place.token}/"
    )


def test_the_poster_page_shows_the_order(client, place_and_commander):
    from fangkong.places import services

    place, commander = place_and_commander
    services.place_order_issue(actor=None, place=place, measure="closed", reason="中风险区")
    client.force_login(commander)
    text = client.get(f"/places/{place.pk}/poster/").content.decode()
    assert "暂停营业" in text and "中风险区" in text and place.code in text
