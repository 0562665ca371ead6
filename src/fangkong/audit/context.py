"""The client address of the request being served, for audit entries written deep in services."""

from contextvars import ContextVar

request_context: ContextVar[dict | None] = ContextVar("fangkong_request", default=None)


def current_ip() -> str | None:
    return (request_context.get() or {}).get("ip")
