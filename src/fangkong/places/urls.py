"""Page routes of the places module; the venue code's phone page lives at the short /v/ address
(a short address makes a small QR code)."""

from django.urls import path

from . import views

app_name = "places"
urlpatterns = [
    path("places/", views.place_list, name="list"),
    path("places/new/", views.place_create, name="create"),
    path("places/apply/", views.orders_apply, name="apply"),
    path("places/<int:pk>/", views.place_detail, name="detail"),
    path("places/<int:pk>/duties/", views.duty_record, name="duty"),
    path("places/<int:pk>/order/", views.order_issue, name="order"),
    path("places/<int:pk>/staff/", views.staff_bind, name="staff"),
    path("places/<int:pk>/inspect/", views.inspect, name="inspect"),
    path("places/<int:pk>/visitors/", views.visitors, name="visitors"),
    path("places/<int:pk>/poster/", views.poster, name="poster"),
    path("places/<int:pk>/poster.png", views.poster_png, name="poster_png"),
    path("places/<int:pk>/poster.pdf", views.poster_pdf, name="poster_pdf"),
    path("places/orders/<int:pk>/lift/", views.order_lift, name="order_lift"),
    path("v/<str:token>/", views.visit, name="visit"),
    path("v/<str:token>/leave/", views.visit_leave, name="visit_leave"),
]
