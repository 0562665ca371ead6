"""Template context: the navigation, one entry per module that exists (declared in each app's registry.py)."""

from django.urls import NoReverseMatch, reverse

from . import registry


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    entries = []
    for entry in registry.nav_entries():
        if entry.allowed is not None and not entry.allowed(user):
            continue
        try:
            entries.append({"url": reverse(entry.url_name), "label": entry.label, "active": False})
        except NoReverseMatch:
            continue
    # The longest entry URL that prefixes the path is the current module ("/" only for itself).
    matches = [
        e
        for e in entries
        if request.path == e["url"] or (e["url"] != "/" and request.path.startswith(e["url"]))
    ]
    if matches:
        max(matches, key=lambda e: len(e["url"]))["active"] = True
    return {"nav_entries": entries}
