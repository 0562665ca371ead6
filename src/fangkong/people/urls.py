from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.search, name="search"),
    path("<int:person_id>/", views.detail, name="detail"),
    path("<int:person_id>/reveal/", views.reveal, name="reveal"),
    path("import/", views.import_page, name="import"),
    path("import/<int:job_id>/", views.import_job, name="import-job"),
    path("import/<int:job_id>/rejected.csv", views.import_rejected, name="import-rejected"),
    path("export.<str:fmt>", views.export, name="export"),
]
