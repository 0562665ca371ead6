"""Chinese first: the UI is Simplified Chinese unless the user picks English with the switch."""


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
        from django.shortcuts import render

        from .errors import DomainError

        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        template = "common/_error.html" if getattr(request, "htmx", False) else "common/error.html"
        return render(request, template, {"error": exception}, status=exception.status)
