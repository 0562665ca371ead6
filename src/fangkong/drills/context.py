"""Template context: the drill banner of a participant who is in a drill."""

from . import services


def drill(request):
    current = getattr(request, "drill", None)
    if current is None:
        return {}
    return {
        "current_drill": current,
        "current_drill_time": services.simulated_time(current),
    }
