"""Chinese first, the pages' half of the error contract, and the floor under every parameter."""

from django.utils.translation import gettext_lazy as _


class ChineseFirstMiddleware:
    """Hides the browser's Accept-Language from Django's LocaleMiddleware.

    A command centre's shared workstations often run English-language browsers; the language a
    user chose with the switch (the language cookie) still wins.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class DomainErrorMiddleware:
    """The pages' half of the error contract: a DomainError a view lets through becomes a page
    with its message and status (a fragment for htmx), never a 500. Views that can show the
    message in their own form catch it themselves; this is the floor under them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from .errors import DomainError

        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        return error_response(request, exception)


def error_response(request, error):
    """A DomainError as the client reads it: the API's JSON body, or a page (an htmx fragment)."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(error.as_dict(), status=error.status)
    from django.shortcuts import render

    template = "common/_error.html" if getattr(request, "htmx", False) else "common/error.html"
    return render(request, template, {"error": error}, status=error.status)


class NulByteMiddleware:
    """A NUL byte in the path or a parameter is refused with a 400 before any view runs.

    No text column stores one (PostgreSQL rejects it inside the query: a 500), and no real
    client sends one; JSON bodies are covered by the serializers' own check."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        form = request.content_type == "application/x-www-form-urlencoded"
        if "\x00" in request.path or _has_nul(request.GET) or (form and _has_nul(request.POST)):
            from .errors import Invalid

            return error_response(request, Invalid(_("A parameter contains a NUL character.")))
        return self.get_response(request)


def _has_nul(params) -> bool:
    return any("\x00" in key or any("\x00" in v for v in params.getlist(key)) for key in params)
