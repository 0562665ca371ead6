"""Keeps the current request's client address at hand for the audit log."""

from .context import request_context


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        ip = forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")
        token = request_context.set({"ip": ip})
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)
