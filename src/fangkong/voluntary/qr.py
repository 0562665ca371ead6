"""A booking's QR code (segno): inline SVG for the page, PNG to save to the phone."""

import io

import segno


def _code(payload: str):
    # Error correction M: a phone screen with a crack or glare still scans.
    return segno.make_qr(payload, error="m")


def svg(payload: str, *, scale: int = 6) -> str:
    """An <svg> element to put in the page (no XML declaration, no inline style or script)."""
    out = io.BytesIO()
    _code(payload).save(
        out,
        kind="svg",
        scale=scale,
        border=2,
        xmldecl=False,
        svgns=True,
        nl=False,
        title="QR",
        svgclass="qr",
    )
    return out.getvalue().decode()


def png(payload: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    _code(payload).save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
