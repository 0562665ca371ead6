"""The venue-code poster: a QR code of the scan address, the place's name and number, Chinese
and English. PNG from segno and Pillow; PDF printed by chromium from the poster's print page
(command.pdf, the bulletins' path, which lays out Chinese text with the server's CJK font), else
the PNG wrapped in a PDF by Pillow. Posters are made once per content and kept under MEDIA_ROOT."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
from functools import cache
from pathlib import Path

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import Place

A4_150DPI = (1240, 1754)


def scan_url(place: Place, base: str = "") -> str:
    """The absolute address the QR code holds: FANGKONG_PUBLIC_URL, else the request's host."""
    base = (settings.FANGKONG_PUBLIC_URL or base or "http://localhost:8000").rstrip("/")
    return base + reverse("places:visit", args=[place.token])


def qr_png(url: str, *, scale: int = 10) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_data_uri(url: str, *, scale: int = 10) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(url, scale=scale)).decode()


@cache
def cjk_font_file() -> str | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        found = subprocess.run(
            [fc_match, "-f", "%{file}", ":lang=zh"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found if found and Path(found).exists() else None


def _font(size: int):
    from PIL import ImageFont

    path = cjk_font_file()
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)  # Latin only: Chinese shows as boxes


def _centered(draw, y: int, text: str, font, fill="#111") -> int:
    box = draw.textbbox((0, 0), text, font=font)
    width = box[2] - box[0]
    draw.text(((A4_150DPI[0] - width) // 2, y), text, font=font, fill=fill)
    return y + (box[3] - box[1]) + 24


def poster_png(place: Place, url: str) -> bytes:
    """The A4 poster at 150 dpi: header, name (Chinese and English), the QR code, the number."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", A4_150DPI, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, A4_150DPI[0], 190], fill="#0b6b3a")
    _centered(draw, 40, "场所码 · Venue code", _font(72), fill="white")
    y = _centered(draw, 240, place.name, _font(64))
    if place.name_en:
        y = _centered(draw, y, place.name_en, _font(40), fill="#333")
    qr = Image.open(io.BytesIO(qr_png(url, scale=18))).convert("RGB")
    side = min(860, qr.width)
    qr = qr.resize((side, side), Image.NEAREST)
    image.paste(qr, ((A4_150DPI[0] - side) // 2, max(y + 20, 420)))
    y = max(y + 20, 420) + side + 30
    y = _centered(draw, y, f"场所编号 No. {place.code}", _font(44))
    y = _centered(draw, y, "进入请扫码登记 · Scan to register your visit", _font(40), fill="#333")
    _centered(
        draw, y, "无需下载应用，手机号或身份证号登记 · No app, no login", _font(32), fill="#555"
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def poster_html(place: Place, url: str, order=None) -> str:
    with translation.override("zh-hans"):
        return render_to_string(
            "places/poster_print.html",
            {"place": place, "url": url, "qr": qr_data_uri(url, scale=12), "order": order},
        )


def _cache_path(place: Place, url: str, ext: str) -> Path:
    key = hashlib.sha256(
        "|".join([url, place.name, place.name_en, place.code, ext]).encode()
    ).hexdigest()[:16]
    return Path(settings.MEDIA_ROOT) / "places" / "posters" / f"{place.token}-{key}.{ext}"


def poster_pdf(place: Place, url: str) -> tuple[bytes, str]:
    """(PDF bytes, how it was made: "chromium" or "raster")."""
    path = _cache_path(place, url, "pdf")
    if path.exists():
        data = path.read_bytes()
        return data, "chromium" if b"Chromium" in data[:4096] or b"Skia" in data else "raster"
    from fangkong.command.pdf import html_to_pdf

    data, how = html_to_pdf(poster_html(place, url)), "chromium"
    if data is None:
        from PIL import Image

        image = Image.open(io.BytesIO(poster_png(place, url)))
        out = io.BytesIO()
        image.save(out, format="PDF", resolution=150.0)
        data, how = out.getvalue(), "raster"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data, how
