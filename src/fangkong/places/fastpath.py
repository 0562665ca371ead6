"""The venue-code scan's short way through the server: `POST /api/v1/places/visits/`, about 500
a second at peak, without the parts of the site's stack that a public, sessionless, CSRF-exempt
JSON POST does not use.

ScanFastPath sits in MIDDLEWARE right after the middleware that must apply to every answer
(SecurityMiddleware's headers and HTTPS redirect, WhiteNoise, the Content-Security-Policy header,
the replica's read-your-writes cookie). For a plain scan it then runs only FAST_CHAIN (the
language as the full stack picks it for a request without cookies, X-Frame-Options, the client's
address for the audit context) around `visit`, a plain view that answers exactly what
`api.VisitViewSet.create` answers (same status codes, bodies, Allow/Vary/Content-Type headers).
Skipped: sessions, CSRF (the DRF view is exempt), authentication, drills, messages, htmx, the
pages' error middleware and the workday guard — all of them no-ops for such a request.

Anything that is not a plain scan goes down the whole stack to the DRF view, which stays the
endpoint of record (the OpenAPI schema, validation messages, content negotiation): a request
with a cookie (a logged-in browser, a drill participant), a query string, another content type
or Accept header, a body that is not a small JSON object of strings, a value DRF's CharField
would refuse or treat differently (blank code, too long, NUL, non-ASCII, not a string). So every
refusal DRF's serializer would give is still given by DRF itself.

Profile (docs/benchmarks.md, session 20): the full stack spent ~2.4 ms of CPU per scan, two
thirds of it in the 18 middleware layers and DRF's request, parser, negotiation and renderer.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string
from rest_framework.utils.encoders import JSONEncoder

from fangkong.common.errors import DomainError
from fangkong.common.fields import plain_strings

PATH = "/api/v1/places/visits/"
# The middleware that runs around the fast view, in the order of settings.MIDDLEWARE.
FAST_CHAIN = [
    "fangkong.common.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fangkong.audit.middleware.RequestContextMiddleware",
]
MAX_BODY = 1024
# VenueVisitSerializer's max_length, and whether the field is required.
_FIELDS = {"code": (16, True), "phone": (20, False), "id_number": (32, False)}
_ACCEPTS = {"", "*/*", "application/json"}
_ENCODER = JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class _Refuse(ValueError):
    pass


def _no_constant(name):
    raise _Refuse(name)  # NaN/Infinity: DRF's parser refuses them


def plain_scan(request) -> dict | None:
    """The scan's fields when the request is one the fast view answers exactly as DRF would,
    else None (the whole stack takes it)."""
    meta = request.META
    if meta.get("QUERY_STRING") or meta.get("HTTP_COOKIE"):
        return None
    if meta.get("HTTP_ACCEPT", "") not in _ACCEPTS:
        return None
    content_type = meta.get("CONTENT_TYPE", "")
    if content_type not in ("application/json", "application/json; charset=utf-8"):
        return None
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    try:
        # Decoded as UTF-8 first, as DRF's parser does (json.loads would guess UTF-16/32 from bytes).
        data = json.loads(request.body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        return None
    if type(data) is not dict:
        return None
    fields = plain_strings(data, _FIELDS)
    return None if fields is None else {"phone": "", "id_number": "", **fields}


def _json(data, status: int) -> HttpResponse:
    """As DRF's Response through JSONRenderer and APIView.finalize_response answers."""
    text = _ENCODER.encode(data).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = HttpResponse(text.encode(), status=status, content_type="application/json")
    response["Allow"] = "POST, OPTIONS"
    response["Vary"] = "Accept"
    response["Content-Length"] = str(len(response.content))
    return response


def visit(request) -> HttpResponse:
    """api.VisitViewSet.create for a plain scan (plain_scan's fields on the request)."""
    from . import scans
    from .api import visit_answer

    fields = request.fangkong_scan
    try:
        result = scans.scan_record(
            token=fields["code"],
            phone=fields["phone"],
            id_number=fields["id_number"],
            ip=scans.client_ip(request),
        )
    except DomainError as exc:
        response = _json(exc.as_dict(), exc.status)
        if exc.status == 503:
            response["Retry-After"] = "30"
        return response
    return _json(visit_answer(result), 200 if result.repeat else 201)


class ScanFastPath:
    def __init__(self, get_response):
        self.get_response = get_response
        handler = visit
        for path in reversed(FAST_CHAIN):
            handler = import_string(path)(handler)
        self.fast = handler
        # The fast chain's middleware must be the site's too, in the same order, after this one.
        after = settings.MIDDLEWARE[settings.MIDDLEWARE.index(f"{__name__}.ScanFastPath") + 1 :]
        if [m for m in after if m in FAST_CHAIN] != FAST_CHAIN:
            raise ImproperlyConfigured("fastpath.FAST_CHAIN is not in settings.MIDDLEWARE")

    def __call__(self, request):
        if request.method == "POST" and request.path_info == PATH:
            fields = plain_scan(request)
            if fields is not None:
                request.fangkong_scan = fields
                response = self.fast(request)
                # The full stack's session layer adds it (the drill check reads the session).
                patch_vary_headers(response, ("Cookie",))
                return response
        return self.get_response(request)
