"""Login, logout and the overview page a user lands on."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from fangkong.geo import selectors as geo_selectors

from .forms import ThrottledLoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledLoginForm
    redirect_authenticated_user = True


@login_required
def home(request):
    node = geo_selectors.actor_node(request.user)
    context = {"node": node}
    if node is not None:
        context.update(
            people=geo_selectors.subtree_people_count(actor=request.user, node=node),
            levels=geo_selectors.subtree_level_counts(actor=request.user, node=node),
            children=geo_selectors.children_with_counts(actor=request.user, node=node),
        )
    return render(request, "accounts/home.html", context)
