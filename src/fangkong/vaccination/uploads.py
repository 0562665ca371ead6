"""The runner of a queued (or immediate) dose import: the stored file or the upload itself."""

from __future__ import annotations

import os

from fangkong.common.models import ImportJob

from . import bulk


def doses_import(*, actor, source, filename: str) -> ImportJob:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            return bulk.import_doses(actor=actor, source=file, filename=filename)
    return bulk.import_doses(actor=actor, source=source, filename=filename)
