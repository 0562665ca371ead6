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
