"""Login and logout (the overview page a user lands on is geo.views.home)."""

from django.contrib.auth import views as auth_views

from .forms import ThrottledLoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = ThrottledLoginForm
    redirect_authenticated_user = True
