"""PDF of a published bulletin, printed by Debian's headless chromium from its print page.

Why chromium and not a PDF library: none is installed (the package lists offer reportlab and
fpdf2, each a new dependency that would lay out Chinese text by hand), while the browser that
runs the journeys prints the very HTML page the public sees, with the same CSS. It needs a CJK
font on the server: without one chromium prints empty boxes, so then no PDF is stored and the
PDF link serves the print-styled page, which the reader's browser prints to PDF with its own
fonts ("Save as PDF"). The PDF is made once, at publication, not per download.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@cache
def has_cjk_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.stdout.strip())


def pdf_enabled() -> bool:
    return bool(settings.FANGKONG_BULLETIN_PDF)


def html_to_pdf(html: str, *, require_cjk_font: bool = True, timeout: int = 60) -> bytes | None:
    """The page printed to PDF, or None when chromium (or a CJK font) is missing or fails."""
    binary = chromium()
    if binary is None or (require_cjk_font and not has_cjk_font()):
        return None
    with tempfile.TemporaryDirectory(prefix="fk-bulletin-") as tmp:
        page, out = Path(tmp) / "bulletin.html", Path(tmp) / "bulletin.pdf"
        page.write_text(html, encoding="utf-8")
        try:
            subprocess.run(
                [
                    binary,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    f"--user-data-dir={tmp}/profile",
                    "--no-pdf-header-footer",
                    f"--print-to-pdf={out}",
                    page.as_uri(),
                ],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        data = out.read_bytes() if out.exists() else b""
        return data if data.startswith(b"%PDF") else None
