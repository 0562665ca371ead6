"""Writes to the population registry: bulk import and export of residents."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import IO

from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fangkong.accounts.roles import can_import_people
from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_fields, audit_record, diff
from fangkong.common.imports import (
    CHUNK_SIZE,
    RowError,
    chunked,
    job_finish,
    job_progress,
    parse_date,
    reason,
    run_import,
    write_table,
)
from fangkong.common.masking import age_band, mask_id_number, mask_phone
from fangkong.common.models import ImportJob
from fangkong.common.scope import operator_or_actor_path, require
from fangkong.geo.models import Jurisdiction, Level

from . import idnumber
from .models import DocumentType, Person, Sex, Tag
from .phone import is_valid_phone, normalize_phone

COLUMNS = [
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "grid_code",
    "address",
    "document_type",
    "tags",
]
REQUIRED = ["id_number", "name", "grid_code"]
# Header cells as Chinese Excel sheets name them; the one place these words live in code.
ALIASES = {
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "证件号码": "id_number",
    "证件号": "id_number",
    "document_number": "id_number",
    "姓名": "name",
    "性别": "sex",
    "出生日期": "birth_date",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "联系电话": "phone",
    "电话": "phone",
    "网格编码": "grid_code",
    "网格代码": "grid_code",
    "地址": "address",
    "住址": "address",
    "现住址": "address",
    "证件类型": "document_type",
    "标签": "tags",
}
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,31}$")
_SEXES = {
    "m": Sex.MALE,
    "male": Sex.MALE,
    "男": Sex.MALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
    "女": Sex.FEMALE,
}
_TAG_SPLIT = re.compile(r"[;；,，、]")
NAME_MAX = Person._meta.get_field("name").max_length
ADDRESS_MAX = Person._meta.get_field("address").max_length
PHONE_MAX = Person._meta.get_field("phone").max_length
# Fields an import may set, compared to decide between updated and unchanged.
FIELDS = ["name", "sex", "birth_date", "phone", "grid_id", "jpath", "address", "tags"]
_EXISTING = ["id", "document_type", "document_number", "household_id", *FIELDS]


def _choice_aliases(choices, extra: dict[str, str]) -> dict[str, object]:
    """Values, names, English labels and the Chinese labels from the translation files."""
    aliases: dict[str, object] = {}
    for choice in choices:
        aliases[str(choice.value).lower()] = choice
        aliases[choice.name.lower()] = choice
        with translation.override("en"):
            aliases[str(choice.label).lower()] = choice
        with translation.override("zh-hans"):
            aliases[str(choice.label)] = choice
    aliases.update({key: choices(value) for key, value in extra.items()})
    return aliases


def _id_reason(message: str) -> str:
    """idnumber's English reasons, made translatable here (that module stays free of Django)."""
    reasons = {
        "must be 17 digits followed by a digit or X": _(
            "must be 17 digits followed by a digit or X"
        ),
        "the birth date it encodes does not exist": reason(
            "the birth date it encodes does not exist"
        ),
        "the birth date it encodes is out of range": reason(
            "the birth date it encodes is out of range"
        ),
        "check digit does not match": reason("check digit does not match"),
        "the area code is in no province": reason("the area code is in no province"),
    }
    return reasons.get(message, message)


class _Context:
    """What validating one file needs besides the row: lookups filled chunk by chunk."""

    def __init__(self, actor, columns: list[str]):
        self.prefix = operator_or_actor_path(actor)
        self.columns = set(columns)
        self.grids: dict[str, tuple[int, str, str] | None] = {}  # code -> (id, level, path)
        self.seen: dict[tuple[str, str], int] = {}  # (document type, number) -> first line
        self.document_types = _choice_aliases(
            DocumentType, {"身份证": "resident_id", "id_card": "resident_id"}
        )
        self.tags = _choice_aliases(Tag, {})
        self.today = dt.date.today()

    def load_grids(self, codes: set[str]) -> None:
        missing = codes - self.grids.keys()
        if not missing:
            return
        self.grids.update(dict.fromkeys(missing))
        for pk, code, level, path in Jurisdiction.objects.filter(code__in=missing).values_list(
            "id", "code", "level", "path"
        ):
            self.grids[code] = (pk, level, path)


def _validate(line: int, row: dict, ctx: _Context) -> tuple[dict | None, list[RowError]]:
    """One row to the Person fields it sets, or its errors. Every independent problem is reported."""
    errors: list[RowError] = []

    def error(column: str, reason: str) -> None:
        errors.append(RowError(line, column, row.get(column, "") or "", reason))

    record: dict = {}
    document_type = DocumentType.RESIDENT_ID
    if row.get("document_type"):
        document_type = ctx.document_types.get(row["document_type"].lower())
        if document_type is None:
            error("document_type", reason("unknown document type"))
    record["document_type"] = str(document_type)

    # Chinese input methods type full-width digits (３２０１…Ｘ); store the ASCII form only.
    number = idnumber.normalize(unicodedata.normalize("NFKC", row["id_number"]))
    derived: tuple[dt.date, str] | None = None
    if document_type is None:
        pass  # the number cannot be judged without knowing what document it is
    elif not number:
        error("id_number", reason("the ID number is required"))
    elif not number.isascii():
        error("id_number", reason("must be 17 digits followed by a digit or X"))
    elif document_type == DocumentType.RESIDENT_ID:
        # A 15-digit GB 11643-1989 number is stored as its 18 digits, the original kept beside.
        number, legacy = idnumber.upgrade(number)
        if legacy:
            record["document_number_legacy"] = legacy
        try:
            derived = idnumber.parse(number, today=ctx.today)
        except idnumber.InvalidIdNumber as exc:
            error("id_number", _id_reason(str(exc)))
    elif not _DOCUMENT_NUMBER.match(number):
        error("id_number", reason("a document number is 4 to 32 letters, digits or '-'"))
    record["document_number"] = number

    name = row["name"]
    if not name:
        error("name", reason("name is required"))
    elif len(name) > NAME_MAX:
        error("name", reason("name is longer than %(max)s characters") % {"max": NAME_MAX})
    record["name"] = name

    sex = None
    if row.get("sex"):
        sex = _SEXES.get(row["sex"].lower())
        if sex is None:
            error("sex", reason("sex must be M or F (男 or 女)"))
        elif derived and derived[1] != sex:
            error("sex", reason("sex does not match the ID number"))
    birth = None
    if row.get("birth_date"):
        try:
            birth = parse_date(row["birth_date"])
        except ValueError:
            error("birth_date", reason("not a date; write it as YYYY-MM-DD"))
        else:
            if birth > ctx.today:
                error("birth_date", reason("the birth date is in the future"))
            elif derived and derived[0] != birth:
                error("birth_date", reason("birth date does not match the ID number"))
    if derived:
        birth, sex = derived
    elif document_type not in (None, DocumentType.RESIDENT_ID) and not errors:
        if sex is None:
            error("sex", reason("sex is required for documents other than the resident ID card"))
        if birth is None:
            error(
                "birth_date",
                reason("birth date is required for documents other than the resident ID card"),
            )
    record["sex"], record["birth_date"] = str(sex) if sex else None, birth

    if row.get("phone"):
        phone = normalize_phone(row["phone"])
        if not is_valid_phone(phone) or len(phone) > PHONE_MAX:
            error("phone", reason("not a mainland mobile or landline number"))
        record["phone"] = phone
    if row.get("address"):
        if len(row["address"]) > ADDRESS_MAX:
            error(
                "address",
                reason("address is longer than %(max)s characters") % {"max": ADDRESS_MAX},
            )
        record["address"] = row["address"]
    if row.get("tags"):
        bits = 0
        for part in filter(None, (p.strip() for p in _TAG_SPLIT.split(row["tags"]))):
            tag = ctx.tags.get(part.lower())
            if tag is None:
                error("tags", reason("unknown tag %(tag)s") % {"tag": part})
            else:
                bits |= tag.value
        record["tags"] = bits

    grid = ctx.grids.get(row["grid_code"]) if row["grid_code"] else None
    if not row["grid_code"]:
        error("grid_code", reason("the grid code is required"))
    elif grid is None:
        error("grid_code", reason("unknown grid code"))
    elif grid[1] != Level.GRID:
        error("grid_code", reason("not a grid but a %(level)s") % {"level": Level(grid[1]).label})
    elif ctx.prefix is None or not grid[2].startswith(ctx.prefix):
        error("grid_code", reason("grid outside your jurisdiction"))
    else:
        record["grid_id"], record["jpath"] = grid[0], grid[2]

    if row.get(None):
        errors.append(
            RowError(line, "", "", reason("the row has more values than the header has columns"))
        )

    if number:
        key = (record["document_type"], number)
        first = ctx.seen.setdefault(key, line)
        if first != line:
            error("id_number", reason("duplicate of line %(line)s") % {"line": first})
    return (None, errors) if errors else (record, [])


def people_import(
    *, actor, source, filename: str = "", mode: str = ImportJob.Mode.KEEP_GOOD
) -> ImportJob:
    """Import residents from CSV/XLSX (a path, or a file object plus its filename).

    Columns by header name in any order, Chinese headers accepted (see ALIASES): required
    id_number, name, grid_code; optional document_type, sex, birth_date, phone, address, tags.
    Rows are keyed by (document_type, document_number): new ones are created, changed ones
    updated (one audit entry each, with before/after), identical ones left untouched; empty
    optional cells never erase stored values. Every bad row is rejected with its line, column
    and reason, and the good rows are kept (mode keep_good; all_or_nothing writes nothing when a
    row is rejected). `actor` None is the operator (everything); otherwise grids and existing
    residents must lie inside the actor's subtree.

    Returns the ImportJob (kind "people"): status DONE with counts and every rejected line, or
    FAILED with a message (nothing written) when the file cannot be read or required columns are
    missing. Works in chunks of CHUNK_SIZE rows: a few queries and one transaction per chunk; a
    row the database refuses is found by halving its chunk and rejected alone.
    """
    require(actor, can_import_people)
    return run_import(
        kind="people",
        actor=actor,
        source=source,
        filename=filename,
        aliases=ALIASES,
        required=REQUIRED,
        body=lambda job, table: _people_import(job, table, actor),
        mode=mode,
    )


def _people_import(job: ImportJob, table, actor) -> ImportJob:
    ctx = _Context(actor, table.columns)
    errors = table.errors
    total = created = updated = unchanged = 0
    audit_base = audit_fields(actor)
    for chunk in chunked(table.rows, CHUNK_SIZE):
        total += len(chunk)
        ctx.load_grids({row["grid_code"] for _line, row in chunk if row["grid_code"]})
        valid: list[tuple[int, dict, dict]] = []
        for line, row in chunk:
            record, row_errors = _validate(line, row, ctx)
            if record is None:
                errors.reject(line, table.original(row), row_errors)
            else:
                valid.append((line, row, record))
        n_created, n_updated, n_unchanged, refused, failed = _write_rows(
            valid, ctx, audit_base, job
        )
        created, updated, unchanged = (
            created + n_created,
            updated + n_updated,
            unchanged + n_unchanged,
        )
        for line, row in refused:
            # Only roles that may see personal data learn that the number is registered
            # elsewhere; to others it would say who lives in a district they cannot see.
            errors.reject_one(
                line,
                table.original(row),
                "id_number",
                row["id_number"],
                reason("this person cannot be imported here"),
                reason("person registered in another jurisdiction"),
            )
        for line, row in failed:
            errors.reject_one(
                line,
                table.original(row),
                "",
                "",
                reason("the database refused this row; check its values and import it again"),
            )
        job_progress(
            job,
            total=table.read,
            created=created,
            updated=updated,
            unchanged=unchanged,
            rejected=errors.count,
        )
    job = job_finish(
        job,
        header=table.header,
        columns=table.columns,
        errors=errors,
        total=table.read,
        created=created,
        updated=updated,
        unchanged=unchanged,
    )
    audit_record(
        actor=actor,
        action=Action.IMPORT,
        object_type="people.person",
        object_id=str(job.pk),
        object_repr=job.filename,
        jurisdiction_path=job.jurisdiction_path,
        changes={
            "rows": job.total_rows,
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "rejected": job.rejected,
        },
    )
    return job


def _write_rows(valid: list[tuple[int, dict, dict]], ctx: _Context, audit_base: dict, job):
    """Write one chunk; (created, updated, unchanged, refused, failed). A chunk the database
    refuses (a value it will not store, a key another import took since we looked, twice) is
    halved until the rows it refuses stand alone: those are rejected, the rest are written."""
    for attempt in (1, 2):
        try:
            return (*_write_chunk(valid, ctx, audit_base, job), [])
        except IntegrityError:
            # Another import created some of these people since we looked; look again once.
            if attempt == 2 and len(valid) == 1:
                return 0, 0, 0, [], [valid[0][:2]]
        except DataError:
            if len(valid) == 1:
                return 0, 0, 0, [], [valid[0][:2]]
            break
    half = len(valid) // 2
    first, second = (
        _write_rows(valid[:half], ctx, audit_base, job),
        _write_rows(valid[half:], ctx, audit_base, job),
    )
    return tuple(a + b for a, b in zip(first, second, strict=True))


def _write_chunk(valid: list[tuple[int, dict, dict]], ctx: _Context, audit_base: dict, job):
    with transaction.atomic():
        numbers = {record["document_number"] for _line, _row, record in valid}
        # Plain tuples, not model instances: most rows of a re-import are unchanged, and
        # building 5,000 instances per chunk was a large share of the time.
        existing = {
            (values[1], values[2]): dict(zip(_EXISTING, values, strict=True))
            for values in (
                Person.objects.filter(document_number__in=numbers).values_list(*_EXISTING)
                if numbers
                else ()
            )
        }
        new, changed, audits, refused = [], [], [], []
        unchanged = 0
        now = timezone.now()
        for line, row, record in valid:
            current = existing.get((record["document_type"], record["document_number"]))
            if current is None:
                new.append(Person(**record))
                continue
            after = {key: record[key] for key in FIELDS if key in record}
            changes = diff({key: current[key] for key in after}, after)
            if not changes:
                unchanged += 1
                continue
            if ctx.prefix is None or not current["jpath"].startswith(ctx.prefix):
                refused.append((line, row))
                continue
            if "grid_id" in changes and current["household_id"] is not None:
                # A household belongs to one grid; moving the person leaves it behind.
                changes["household"] = [current["household_id"], None]
                current["household_id"] = None
            current.update(after)
            person = Person(
                id=current["id"],
                household_id=current["household_id"],
                updated_at=now,
                **{key: current[key] for key in FIELDS},
            )
            changed.append(person)
            audits.append(
                AuditEntry(
                    **audit_base,
                    action=Action.UPDATE,
                    object_type="people.person",
                    object_id=str(person.pk),
                    object_repr=person.name[:200],
                    jurisdiction_path=person.jpath,
                    changes=changes,
                )
            )
        _insert(new, now)
        if changed:
            Person.objects.bulk_update(
                changed, [*FIELDS, "household", "updated_at"], batch_size=1000
            )
            AuditEntry.objects.bulk_create(audits, batch_size=1000)
        if new or changed:
            # The chunk's own entry, committed with its rows: an import killed half-way still
            # says who created the people it left (the summary entry is written at the end).
            AuditEntry.objects.create(
                **audit_base,
                action=Action.IMPORT,
                object_type="people.person",
                object_id=str(job.pk),
                object_repr=job.filename[:200],
                jurisdiction_path=job.jurisdiction_path,
                changes={
                    "lines": [valid[0][0], valid[-1][0]],
                    "created": len(new),
                    "updated": len(changed),
                },
            )
    return len(new), len(changed), unchanged, refused


_INSERT_FIELDS = [
    "document_type",
    "document_number",
    "document_number_legacy",
    "name",
    "sex",
    "birth_date",
    "phone",
    "grid_id",
    "jpath",
    "address",
    "tags",
    "created_at",
    "updated_at",
]


def _insert(people: list[Person], now) -> None:
    """New residents in one round trip: COPY on PostgreSQL (the ORM's per-value preparation is
    most of an INSERT's cost there), bulk_create elsewhere."""
    if not people:
        return
    if connection.vendor != "postgresql":
        Person.objects.bulk_create(people, batch_size=1000)
        return
    table = connection.ops.quote_name(Person._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(Person._meta.get_field(name.removesuffix("_id")).column)
        for name in _INSERT_FIELDS
    )
    # wrap_database_errors turns a unique violation into Django's IntegrityError (retried above).
    with connection.wrap_database_errors, connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for person in people:
                person.created_at = person.updated_at = now
                copy.write_row([getattr(person, name) for name in _INSERT_FIELDS])


def _tag_names(bits: int) -> str:
    return ";".join(tag.name.lower() for tag in Tag if bits & tag.value)


def _age_on(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def people_export(*, actor, out: IO, fmt: str = "csv", unmasked: bool = False) -> int:
    """Write the residents of the actor's subtree (everyone for actor None) to `out` as CSV (text
    or binary stream, UTF-8 with BOM) or XLSX (binary stream), in the import's columns.

    ID numbers and phones are masked, and birth dates given as age bands, unless `unmasked` — the caller decides, by role, with
    accounts.roles.can_see_pii. An unmasked export imports back unchanged. Streams in chunks,
    writes one audit entry (action export) and returns the number of rows."""
    prefix = operator_or_actor_path(actor)
    today = dt.date.today()
    qs = (
        Person.objects.all()
        if prefix == "/"
        else (Person.objects.filter(jpath__startswith=prefix) if prefix else Person.objects.none())
    )
    rows = (
        qs.order_by("jpath", "id")
        .values_list(
            "document_number",
            "name",
            "sex",
            "birth_date",
            "phone",
            "grid__code",
            "address",
            "document_type",
            "tags",
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )

    def shaped():
        for number, name, sex, birth, phone, grid, address, document_type, tags in rows:
            if not unmasked:
                # The birth date would give back the masked digits: the age band instead.
                number, phone = mask_id_number(number), mask_phone(phone)
                birth = age_band(_age_on(birth, today))
            elif fmt != "xlsx":
                birth = birth.isoformat()
            yield (
                number,
                name,
                sex,
                birth,
                phone,
                grid,
                address,
                document_type,
                _tag_names(tags),
            )

    count = write_table(out, fmt=fmt, header=COLUMNS, rows=shaped())
    audit_record(
        actor=actor,
        action=Action.EXPORT,
        object_type="people.person",
        jurisdiction_path=prefix or "",
        changes={"rows": count, "unmasked": unmasked, "format": fmt},
    )
    return count
