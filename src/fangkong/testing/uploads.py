"""Uploaded sample and result files: run at once without a job queue, or recorded and queued for
`fangkong worker` with one (a lab's file of a million results must not hold a web worker).

The role is checked before anything is stored or queued, so a refused upload is a 403 at once
rather than a failed job later; the runners check it again when the worker runs them."""

from __future__ import annotations

import contextlib
import io
import os

from fangkong.common import jobs
from fangkong.common.models import ImportJob
from fangkong.common.scope import require

from . import bulk, roles, selectors
from .models import Round


def samples_submit(*, actor, round_: Round, upload) -> ImportJob:
    require(actor, roles.can_import_samples)
    return jobs.import_submit(
        actor=actor,
        upload=upload,
        kind="testing_samples",
        runner="fangkong.testing.uploads.samples_import",
        params={"round_code": round_.code},
    )


def results_submit(*, actor, upload) -> ImportJob:
    require(actor, roles.can_report)
    return jobs.import_submit(
        actor=actor,
        upload=upload,
        kind="testing_results",
        runner="fangkong.testing.uploads.results_import",
    )


def samples_import(*, actor, source, filename: str, round_code: str) -> ImportJob:
    round_ = selectors.access_round(actor, round_code)
    with _opened(source) as file:
        return bulk.import_samples(actor=actor, round_=round_, source=file, filename=filename)


def results_import(*, actor, source, filename: str) -> ImportJob:
    with _opened(source) as file:
        # The results reader needs a seekable file; an upload is not always one.
        data = file if isinstance(source, str | os.PathLike) else io.BytesIO(file.read())
        return bulk.import_results(actor=actor, source=data, filename=filename)


@contextlib.contextmanager
def _opened(source):
    """The stored file of a queued job (a path), or the upload itself."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            yield file
    else:
        yield source
