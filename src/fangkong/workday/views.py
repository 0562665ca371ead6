"""The home page: each role lands on its day's work (see homes.py)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from fangkong.geo import views as geo_views
from fangkong.geo.selectors import actor_node

from . import homes


@login_required
def home(request):
    user = request.user
    node = actor_node(user)
    if node is None or user.role == "admin" or user.is_superuser and user.role not in homes.HOMES:
        return geo_views.home(request)  # the jurisdiction overview
    if user.role in homes.BIG_SCREEN_ROLES:
        return redirect("analytics:dashboard")
    return render(
        request,
        "workday/home.html",
        {"node": node, "panels": homes.home_panels(user), "today": homes.timezone.localdate()},
    )
