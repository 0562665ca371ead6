"""Sample and result files uploaded through the API run as jobs when a queue is configured
(issue 11 point 7: big files as jobs, recorded before they are queued)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from fangkong.common import jobs
from fangkong.common.models import ImportJob
from fangkong.testing.models import Sample, Tube

from .factories import LabFactory, SiteFactory, make_round


@pytest.fixture
def queue(settings, tmp_path):
    redis = pytest.importorskip("redis")
    settings.REDIS_URL = "redis://127.0.0.1:6379/14"
    settings.JOB_QUEUE = f"test-testing-{tmp_path.name}"
    settings.MEDIA_ROOT = tmp_path
    connection = redis.Redis.from_url(settings.REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield
    connection.delete(f"rq:queue:{settings.JOB_QUEUE}")


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_sample_and_result_files_are_queued_jobs(
    queue, tree, people, make_user, django_capture_on_commit_callbacks
):
    make_round("R1", tree["city"], pool_size=10)
    SiteFactory(code="SA", jurisdiction=tree["grid_a"])
    LabFactory(code="LAB1", jurisdiction=tree["city"])
    person = people["a"][0]
    samples = (
        "tube_barcode,id_number,sampled_at,site_code\n"
        f"T001,{person.document_number},2026-11-23 08:00:00,SA\n"
    ).encode()
    hq = client_for(make_user(role="hq_staff", node="city"))
    with django_capture_on_commit_callbacks(execute=True):
        answer = hq.post(
            "/api/v1/testing/rounds/R1/import-samples/",
            {"file": SimpleUploadedFile("s.csv", samples)},
            format="multipart",
        )
    assert (answer.status_code, answer.json()["status"]) == (202, "queued")
    assert not Tube.objects.exists()
    assert jobs.work(burst=True, fork=False) == 1
    job = ImportJob.objects.get(pk=answer.json()["id"])
    assert (job.status, job.kind, job.created) == ("done", "testing_samples", 1)
    assert Sample.objects.filter(person=person, tube__barcode="T001").exists()

    results = b"tube_barcode,result,reported_at,lab_code\nT001,negative,2026-11-23 12:00:00,LAB1\n"
    lab = client_for(make_user(role="lab_staff", node="city"))
    with django_capture_on_commit_callbacks(execute=True):
        answer = lab.post(
            "/api/v1/testing/results/import/",
            {"file": SimpleUploadedFile("r.csv", results)},
            format="multipart",
        )
    assert (answer.status_code, answer.json()["status"]) == (202, "queued")
    assert jobs.work(burst=True, fork=False) == 1
    job = ImportJob.objects.get(pk=answer.json()["id"])
    assert (job.status, job.kind) == ("done", "testing_results")
    assert Tube.objects.get(barcode="T001").result == "negative"


def test_a_refused_upload_is_refused_before_it_is_queued(queue, tree, make_user):
    make_round("R1", tree["city"], pool_size=10)
    inspector = client_for(make_user(role="inspector", node="city"))
    answer = inspector.post(
        "/api/v1/testing/rounds/R1/import-samples/",
        {"file": SimpleUploadedFile("s.csv", b"tube_barcode\n")},
        format="multipart",
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
    assert not ImportJob.objects.exists()
