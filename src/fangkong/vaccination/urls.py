"""Page routes of the vaccination module."""

from django.urls import path

from . import views

app_name = "vaccination"
urlpatterns = [
    path("", views.coverage_page, name="coverage"),
    path("lists/", views.lists, name="lists"),
    path("record/", views.record, name="record"),
    path("import/", views.import_page, name="import"),
    path("import/<int:job_id>/", views.import_job, name="import-job"),
    path("import/<int:job_id>/rejected.csv", views.import_rejected, name="import-rejected"),
    path("aefi/", views.aefi_list, name="aefi-list"),
    path("aefi/<int:pk>/", views.aefi_detail, name="aefi-detail"),
]
