"""Page routes."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from fangkong.accounts import views as account_views
from fangkong.workday import views as workday_views

urlpatterns = [
    path("", workday_views.home, name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Places first: its public phone page /v/<code>/ takes the city's venue scans.
    path("", include("fangkong.places.urls")),
    path("geo/", include("fangkong.geo.urls")),
    path("people/", include("fangkong.people.urls")),
    path("testing/", include("fangkong.testing.urls")),
    path("tracing/", include("fangkong.tracing.urls")),
    path("control/", include("fangkong.control.urls")),
    path("care/", include("fangkong.care.urls")),
    path("checkpoints/", include("fangkong.checkpoints.urls")),
    path("screening/", include("fangkong.screening.urls")),
    path("supplies/", include("fangkong.supplies.urls")),
    path("command/", include("fangkong.command.urls")),
    path("analytics/", include("fangkong.analytics.urls")),
    path("resumption/", include("fangkong.resumption.urls")),
    path("vaccination/", include("fangkong.vaccination.urls")),
    path("alerts/", include("fangkong.common.urls")),
    path("audit/", include("fangkong.audit.urls")),
    path("drills/", include("fangkong.drills.urls")),
    path("voluntary/", include("fangkong.voluntary.urls")),
]
