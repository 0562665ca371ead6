"""While a participant is in a drill (a session flag set by joining it), the whole request runs
on the drill's sandbox: the router, raw cursors and transactions follow routing.current()."""

from __future__ import annotations

from . import routing, sandbox

SESSION_KEY = "fangkong_drill"


def _drill_of(request):
    from .models import Drill, Participant

    drill_id = request.session.get(SESSION_KEY)
    if not drill_id:
        return None
    user = request.user
    if not user.is_authenticated:
        return None
    with routing.live():
        drill = Drill.objects.filter(
            pk=drill_id, status=Drill.Status.RUNNING, sandbox_ready=True
        ).first()
        if drill is None or not Participant.objects.filter(drill=drill, user_id=user.pk).exists():
            # Ended, discarded or no longer a participant: back to the live city.
            request.session.pop(SESSION_KEY, None)
            return None
    return drill


class DrillMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.drill = None
        if not hasattr(request, "session") or not hasattr(request, "user"):
            return self.get_response(request)
        drill = _drill_of(request)
        if drill is None:
            return self.get_response(request)
        # The account is read from the live database before the request moves (the login is
        # live); the sandbox holds a copy with the same key for its foreign keys.
        request.user.pk  # noqa: B018 - forces the lazy user now
        request.drill = drill
        alias = sandbox.connect(drill.sandbox)
        from .services import drill_tick

        try:
            with routing.active(alias):
                drill_tick(drill=drill)
                return self.get_response(request)
        finally:
            sandbox.close(alias)
