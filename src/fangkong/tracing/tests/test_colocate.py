"""The co-location engine: every rule and boundary on DuckDB and Spark, the API and the CLI."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from fangkong.tracing.engine import colocate_cell, colocate_transport, colocate_venue, io, rules


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def write_presence(path, rows):
    """rows: (person_id, cell_id, start, end) with ISO strings; Parquet with typed timestamps."""
    pid, cell, start, end = zip(*rows, strict=True)
    table = pa.table(
        {
            "person_id": pa.array(pid, pa.string()),
            "cell_id": pa.array(cell, pa.string()),
            "start": pa.array([t(s) for s in start], pa.timestamp("us")),
            "end": pa.array([t(e) for e in end], pa.timestamp("us")),
        }
    )
    pq.write_table(table, path)
    return path


def write_scans(path, rows):
    pid, venue, at = zip(*rows, strict=True)
    table = pa.table(
        {
            "person_id": pa.array(pid, pa.string()),
            "venue_id": pa.array(venue, pa.string()),
            "scanned_at": pa.array([t(s) for s in at], pa.timestamp("us")),
        }
    )
    pq.write_table(table, path)
    return path


def write_manifests(path, rows):
    pid, trip, day, carriage, seat_row = zip(*rows, strict=True)
    table = pa.table(
        {
            "person_id": pa.array(pid, pa.string()),
            "trip_id": pa.array(trip, pa.string()),
            "date": pa.array([date.fromisoformat(d) for d in day], pa.date32()),
            "carriage": pa.array(carriage, pa.int32()),
            "seat_row": pa.array(seat_row, pa.int32()),
        }
    )
    pq.write_table(table, path)
    return path


def write_index(path, rows):
    path.write_text(
        "person_id,window_start,window_end\n" + "".join(f"{p},{s},{e}\n" for p, s, e in rows)
    )
    return path


def as_rows(table: pa.Table) -> list[tuple]:
    """(index, contact, episodes, overlap minutes as text or None, first contact as text)."""
    assert table.schema == io.RESULT_SCHEMA
    return [
        (
            r["index_person_id"],
            r["contact_person_id"],
            r["episodes"],
            None if r["overlap_minutes"] is None else str(r["overlap_minutes"]),
            r["first_contact_at"].strftime("%Y-%m-%d %H:%M:%S"),
        )
        for r in table.to_pylist()
    ]


# --------------------------------------------------------------------------- cell rule

# I1 is infectious 08:00-20:00 on 5 January, I2 all that day; every case uses its own cell.
CELL_INDEX = [
    ("I1", "2026-01-05 08:00:00", "2026-01-05 20:00:00"),
    ("I2", "2026-01-05 00:00:00", "2026-01-06 00:00:00"),
]
CELL_PRESENCE = [
    # exactly 10 minutes counts; 9 minutes and 9:59 do not
    ("I1", "A", "2026-01-05 09:00:00", "2026-01-05 10:00:00"),
    ("P_exact", "A", "2026-01-05 09:50:00", "2026-01-05 10:30:00"),
    ("P_9min", "A", "2026-01-05 09:51:00", "2026-01-05 10:30:00"),
    ("P_959", "A", "2026-01-05 09:50:01", "2026-01-05 10:30:00"),
    # a second record of I1 in the same cell: the person is never their own contact
    ("I1", "A", "2026-01-05 09:30:00", "2026-01-05 09:55:00"),
    # overlaps straddling the window's end and start count only their part inside
    ("I1", "C", "2026-01-05 19:00:00", "2026-01-05 21:00:00"),
    ("P_end5", "C", "2026-01-05 19:55:00", "2026-01-05 21:00:00"),
    ("P_end15", "C", "2026-01-05 19:45:00", "2026-01-05 22:00:00"),
    ("I1", "D", "2026-01-05 07:00:00", "2026-01-05 09:00:00"),
    ("P_start9", "D", "2026-01-05 07:00:00", "2026-01-05 08:09:00"),
    ("P_start10", "D", "2026-01-05 07:30:00", "2026-01-05 08:10:00"),
    # two index persons are each other's contacts
    ("I2", "E", "2026-01-05 12:00:00", "2026-01-05 13:00:00"),
    ("I1", "E", "2026-01-05 12:30:00", "2026-01-05 13:30:00"),
    # several episodes are counted and summed; seconds give a fraction of a minute
    ("I1", "F", "2026-01-05 10:00:00", "2026-01-05 11:00:00"),
    ("P_multi", "F", "2026-01-05 10:15:00", "2026-01-05 12:00:00"),
    ("I1", "G", "2026-01-05 14:00:00", "2026-01-05 15:00:00"),
    ("P_multi", "G", "2026-01-05 13:00:00", "2026-01-05 14:12:20"),
    # entirely after the window
    ("I1", "H", "2026-01-05 21:00:00", "2026-01-05 23:00:00"),
    ("P_late", "H", "2026-01-05 21:00:00", "2026-01-05 23:00:00"),
    # same time, other cell
    ("P_elsewhere", "Z", "2026-01-05 09:00:00", "2026-01-05 10:00:00"),
]
CELL_EXPECTED = [
    ("I1", "I2", 1, "30.00", "2026-01-05 12:30:00"),
    ("I1", "P_end15", 1, "15.00", "2026-01-05 19:45:00"),
    ("I1", "P_exact", 1, "10.00", "2026-01-05 09:50:00"),
    ("I1", "P_multi", 2, "57.33", "2026-01-05 10:15:00"),
    ("I1", "P_start10", 1, "10.00", "2026-01-05 08:00:00"),
    ("I2", "I1", 1, "30.00", "2026-01-05 12:30:00"),
]


def test_cell_rule_boundaries(engine, tmp_path):
    presence = write_presence(tmp_path / "presence.parquet", CELL_PRESENCE)
    index = write_index(tmp_path / "index.csv", CELL_INDEX)
    assert as_rows(colocate_cell(presence, index, engine=engine)) == CELL_EXPECTED


def test_cell_minimum_is_a_parameter(engine, tmp_path):
    presence = write_presence(tmp_path / "presence.parquet", CELL_PRESENCE)
    index = write_index(tmp_path / "index.csv", CELL_INDEX[:1])
    rows = as_rows(colocate_cell(presence, index, min_overlap_minutes=9, engine=engine))
    assert [r[1] for r in rows] == [
        "I2",
        "P_959",
        "P_9min",
        "P_end15",
        "P_exact",
        "P_multi",
        "P_start10",
        "P_start9",
    ]


# The contact must also have spent 30 hours in the cell in the 14 days before window_end
# (2026-01-10 20:00, so the look-back starts 2025-12-27 20:00).
CUMULATIVE_INDEX = [("I", "2026-01-10 08:00:00", "2026-01-10 20:00:00")]
CUMULATIVE_PRESENCE = [
    ("I", "X", "2026-01-10 09:00:00", "2026-01-10 10:00:00"),
    # 0.5 h together + 29.5 h earlier = exactly 30 h
    ("R_exact", "X", "2026-01-10 09:00:00", "2026-01-10 09:30:00"),
    ("R_exact", "X", "2026-01-05 00:00:00", "2026-01-06 05:30:00"),
    # 0.5 h + 29 h: short
    ("R_short", "X", "2026-01-10 09:00:00", "2026-01-10 09:30:00"),
    ("R_short", "X", "2026-01-05 00:00:00", "2026-01-06 05:00:00"),
    # 29.5 h of which only 24 h lie inside the look-back
    ("R_old", "X", "2026-01-10 09:00:00", "2026-01-10 09:30:00"),
    ("R_old", "X", "2025-12-26 14:30:00", "2025-12-28 20:00:00"),
    # plenty of time, but in another cell
    ("R_other", "X", "2026-01-10 09:00:00", "2026-01-10 09:30:00"),
    ("R_other", "Y", "2026-01-01 00:00:00", "2026-01-03 00:00:00"),
    # time after window_end does not count either
    ("R_after", "X", "2026-01-10 09:00:00", "2026-01-10 09:30:00"),
    ("R_after", "X", "2026-01-10 20:00:00", "2026-01-12 08:00:00"),
]


def test_cell_cumulative_hours(engine, tmp_path):
    presence = write_presence(tmp_path / "presence.parquet", CUMULATIVE_PRESENCE)
    index = write_index(tmp_path / "index.csv", CUMULATIVE_INDEX)
    rows = as_rows(colocate_cell(presence, index, min_cumulative_hours=30, engine=engine))
    assert rows == [("I", "R_exact", 1, "30.00", "2026-01-10 09:00:00")]
    without = as_rows(colocate_cell(presence, index, engine=engine))
    assert [r[1] for r in without] == ["R_after", "R_exact", "R_old", "R_other", "R_short"]


# --------------------------------------------------------------------------- venue rule

VENUE_INDEX = [
    ("V", "2026-01-05 08:00:00", "2026-01-05 20:00:00"),
    ("W", "2026-01-05 00:00:00", "2026-01-06 00:00:00"),
]
VENUE_SCANS = [
    ("V", "M1", "2026-01-05 12:00:00"),
    ("Q_after30", "M1", "2026-01-05 12:30:00"),  # exactly 30 minutes later counts
    ("Q_before30", "M1", "2026-01-05 11:30:00"),  # and earlier, too
    ("Q_30m1s", "M1", "2026-01-05 12:30:01"),  # 30 minutes and a second does not
    ("Q_multi", "M1", "2026-01-05 12:20:00"),
    ("Q_multi", "M1", "2026-01-05 12:10:00"),
    ("W", "M1", "2026-01-05 12:15:00"),  # another index person
    ("V", "M5", "2026-01-05 15:00:00"),  # V twice at one venue: never their own contact
    ("V", "M5", "2026-01-05 15:05:00"),
    ("Q_elsewhere", "M2", "2026-01-05 12:05:00"),
    ("V", "M3", "2026-01-05 21:00:00"),  # V's scan outside the window
    ("Q_outside", "M3", "2026-01-05 21:05:00"),
    ("V", "M4", "2026-01-05 20:00:00"),  # on the window's edge: inside
    ("Q_edge", "M4", "2026-01-05 20:20:00"),  # the contact's own scan may fall after the window
]
VENUE_EXPECTED = [
    ("V", "Q_after30", 1, None, "2026-01-05 12:30:00"),
    ("V", "Q_before30", 1, None, "2026-01-05 11:30:00"),
    ("V", "Q_edge", 1, None, "2026-01-05 20:20:00"),
    ("V", "Q_multi", 2, None, "2026-01-05 12:10:00"),
    ("V", "W", 1, None, "2026-01-05 12:15:00"),
    ("W", "Q_30m1s", 1, None, "2026-01-05 12:30:01"),
    ("W", "Q_after30", 1, None, "2026-01-05 12:30:00"),
    ("W", "Q_multi", 2, None, "2026-01-05 12:10:00"),
    ("W", "V", 1, None, "2026-01-05 12:00:00"),
]


def test_venue_rule_boundaries(engine, tmp_path):
    scans = write_scans(tmp_path / "scans.parquet", VENUE_SCANS)
    index = write_index(tmp_path / "index.csv", VENUE_INDEX)
    assert as_rows(colocate_venue(scans, index, engine=engine)) == VENUE_EXPECTED


# --------------------------------------------------------------------------- transport rule

# T is infectious from 5 January to noon on 6 January: trips on both dates count.
TRANSPORT_INDEX = [("T", "2026-01-05 00:00:00", "2026-01-06 12:00:00")]
TRANSPORT_MANIFESTS = [
    ("T", "G7001", "2026-01-05", 5, 10),
    ("S_row13", "G7001", "2026-01-05", 5, 13),  # 3 rows back counts
    ("S_row7", "G7001", "2026-01-05", 5, 7),  # 3 rows forward counts
    ("S_row14", "G7001", "2026-01-05", 5, 14),  # 4 rows does not
    ("S_car6", "G7001", "2026-01-05", 6, 10),  # another carriage does not
    ("S_nextday", "G7001", "2026-01-06", 5, 10),  # the same train a day later: T was not on it
    (
        "T",
        "D3002",
        "2026-01-06",
        2,
        1,
    ),  # on the window's last date, after its hour: by date, inside
    ("S_d3002", "D3002", "2026-01-06", 2, 2),
    ("T", "K1", "2026-01-07", 1, 1),  # after the window
    ("S_k1", "K1", "2026-01-07", 1, 1),
]
TRANSPORT_EXPECTED = [
    ("T", "S_d3002", 1, None, "2026-01-06 00:00:00"),
    ("T", "S_row13", 1, None, "2026-01-05 00:00:00"),
    ("T", "S_row7", 1, None, "2026-01-05 00:00:00"),
]


def test_transport_rule_boundaries(engine, tmp_path):
    manifests = write_manifests(tmp_path / "manifests.parquet", TRANSPORT_MANIFESTS)
    index = write_index(tmp_path / "index.csv", TRANSPORT_INDEX)
    assert as_rows(colocate_transport(manifests, index, engine=engine)) == TRANSPORT_EXPECTED
    rows = as_rows(colocate_transport(manifests, index, max_row_distance=4, engine=engine))
    assert [r[1] for r in rows] == ["S_d3002", "S_row13", "S_row14", "S_row7"]


# --------------------------------------------------------------------------- engines agree


def reference_cell(presence, windows, minimum):
    """A brute-force reading of the cell rule, independent of the SQL."""
    found = {}
    for pid, ws, we in windows:
        for ip, cell, s, e in presence:
            if ip != pid:
                continue
            s, e = max(s, ws), min(e, we)
            for cp, ccell, cs, ce in presence:
                if ccell != cell or cp == pid:
                    continue
                start, overlap = max(s, cs), min(e, ce) - max(s, cs)
                if overlap >= minimum:
                    n, total, first = found.get((pid, cp), (0, timedelta(0), start))
                    found[(pid, cp)] = (n + 1, total + overlap, min(first, start))
    rows = []
    for (pid, cp), (n, total, first) in sorted(found.items()):
        minutes = (Decimal(total // timedelta(microseconds=1)) / 60_000_000).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )
        rows.append((pid, cp, n, str(minutes), first.strftime("%Y-%m-%d %H:%M:%S")))
    return rows


def _write_city(tmp_path, presence, windows):
    """The stays as a presence CSV and the windows as an index CSV, second-precise."""
    fmt = "%Y-%m-%d %H:%M:%S"
    csv = tmp_path / "presence.csv"
    csv.write_text(
        "person_id,cell_id,start,end\n"
        + "".join(f"{p},{c},{s:{fmt}},{e:{fmt}}\n" for p, c, s, e in presence)
    )
    index = write_index(
        tmp_path / "index.csv", [(p, f"{s:{fmt}}", f"{e:{fmt}}") for p, s, e in windows]
    )
    return csv, index


@pytest.fixture
def random_city(tmp_path):
    """600 stays of 40 people in 6 cells over two days, second-precise, and 5 index persons."""
    rng = random.Random(7)
    base = datetime(2026, 1, 5)
    presence = []
    for _ in range(600):
        start = base + timedelta(seconds=rng.randrange(2 * 86400))
        presence.append(
            (
                f"{rng.randrange(40):03d}",
                f"C{rng.randrange(6)}",
                start,
                start + timedelta(seconds=rng.randrange(60, 4 * 3600)),
            )
        )
    windows = []
    for pid in ("000", "003", "017", "021", "039"):
        start = base + timedelta(seconds=rng.randrange(86400))
        windows.append((pid, start, start + timedelta(seconds=rng.randrange(3600, 86400))))
    return presence, windows, *_write_city(tmp_path, presence, windows)


def test_random_data_matches_brute_force_on_duckdb(random_city):
    presence, windows, csv, index = random_city
    expected = reference_cell(presence, windows, timedelta(minutes=10))
    assert len(expected) > 20
    assert as_rows(colocate_cell(csv, index)) == expected


@pytest.mark.spark
def test_engines_return_identical_tables(spark, random_city):
    _, _, csv, index = random_city
    for minutes, hours in ((10, None), (3, 2.5)):
        duck = colocate_cell(csv, index, min_overlap_minutes=minutes, min_cumulative_hours=hours)
        assert duck.num_rows > 0
        assert colocate_cell(
            csv, index, min_overlap_minutes=minutes, min_cumulative_hours=hours, engine="spark"
        ).equals(duck)


def _mixed_city(tmp_path, seed):
    """Stays from 1 minute to 5 days (every slot class and the long stays), before and after 1970.

    The slots that make the cell join fast are only an index: whatever the stays' lengths, where
    they fall against the buckets or the sign of the time, the pairs must be exactly the
    brute-force ones.
    """
    rng = random.Random(seed)
    presence = []
    for base in (datetime(1969, 12, 30), datetime(2026, 1, 5)):
        for _ in range(250):
            start = base + timedelta(seconds=rng.randrange(4 * 86400))
            minutes = rng.choice([rng.randrange(1, 130), rng.randrange(100, 800),
                                  rng.randrange(700, 3000), rng.randrange(2800, 7200)])  # fmt: skip
            presence.append(
                (
                    f"{rng.randrange(30):03d}",
                    f"C{rng.randrange(4)}",
                    start,
                    start + timedelta(minutes=minutes, seconds=rng.randrange(60)),
                )  # fmt: skip
            )
    windows = []
    for pid, base in (("001", datetime(1969, 12, 30)), ("002", datetime(2026, 1, 5)),
                      ("003", datetime(2026, 1, 5)), ("004", datetime(1969, 12, 31))):  # fmt: skip
        start = base + timedelta(seconds=rng.randrange(86400))
        windows.append((pid, start, start + timedelta(seconds=rng.randrange(3600, 3 * 86400))))
    return presence, windows, *_write_city(tmp_path, presence, windows)


@pytest.mark.parametrize("minutes", [10, 150, 0])
def test_stays_of_every_length_match_brute_force(engine, tmp_path, minutes):
    presence, windows, csv, index = _mixed_city(tmp_path, seed=minutes)
    expected = reference_cell(presence, windows, timedelta(minutes=minutes))
    assert len(expected) > 20
    lengths = {(e - s) // timedelta(hours=1) for p, _, s, e in presence}
    assert min(lengths) == 0 and max(lengths) > 48  # short stays and long ones are both there
    assert as_rows(colocate_cell(csv, index, min_overlap_minutes=minutes, engine=engine)) == (
        expected
    )


@pytest.mark.parametrize(
    "ids",
    [
        pa.array([10_000_000_001, 7, 10_000_000_001, 42], pa.int64()),
        pa.array(["007", " I 1", "I\t2", "张三"], pa.string()),
        pa.array(["007", 'a,"b"', "I1", ""], pa.string()),
    ],
)
def test_raw_csv_is_the_published_csv(tmp_path, ids):
    """The CLI writes the raw result through DuckDB; the bytes are those of finish + write_csv."""
    raw = pa.table(
        {
            "index_person_id": ids,
            "contact_person_id": ids[::-1],
            "episodes": pa.array([1, 2, 3, 40], pa.int64()),
            # 0, half a hundredth (rounds up), just under it, and no overlap (venue rules)
            "overlap_us": pa.array([0, 300_000 + 30_000_000, 29_999, None], pa.int64()),
            # before 1970 too: seconds are floored, not truncated toward zero
            "first_contact_us": pa.array(
                [-1, 0, 1_793_491_200_999_999, -86_400_000_001], pa.int64()
            ),
        }
    )
    io.write_raw_csv(raw, tmp_path / "raw.csv")
    io.write_csv(io.finish(raw), tmp_path / "published.csv")
    written = (tmp_path / "raw.csv").read_bytes()
    assert written == (tmp_path / "published.csv").read_bytes()
    assert b",0.00,1969-12-31 23:59:59" in written
    assert b",0.51,1970-01-01 00:00:00" in written
    assert b",40,,1969-12-30 23:59:59" in written
    null_only = raw.set_column(3, "overlap_us", pa.nulls(4, pa.int64()))
    io.write_raw_csv(null_only, tmp_path / "raw.csv")
    io.write_csv(io.finish(null_only), tmp_path / "published.csv")
    assert (tmp_path / "raw.csv").read_bytes() == (tmp_path / "published.csv").read_bytes()


# --------------------------------------------------------------------------- inputs and API


def test_numeric_ids_stay_text_and_index_ids_are_matched(engine, tmp_path):
    """Integer IDs in Parquet join with the text IDs of the index and come out as text."""
    table = pa.table(
        {
            "person_id": pa.array([1001, 1002, 1003], pa.int64()),
            "cell_id": pa.array([7, 7, 8], pa.int32()),
            "start": pa.array([t("2026-01-05 09:00:00")] * 3, pa.timestamp("us")),
            "end": pa.array([t("2026-01-05 10:00:00")] * 3, pa.timestamp("us")),
        }
    )
    pq.write_table(table, tmp_path / "presence.parquet")
    index = write_index(
        tmp_path / "index.csv", [("1001", "2026-01-05 00:00:00", "2026-01-06 00:00:00")]
    )
    rows = as_rows(colocate_cell(tmp_path / "presence.parquet", index, engine=engine))
    assert rows == [("1001", "1002", 1, "60.00", "2026-01-05 09:00:00")]


def test_directory_and_glob_inputs(tmp_path):
    (tmp_path / "parts").mkdir()
    write_presence(tmp_path / "parts" / "a.parquet", CELL_PRESENCE[:10])
    write_presence(tmp_path / "parts" / "b.parquet", CELL_PRESENCE[10:])
    index = write_index(tmp_path / "index.csv", CELL_INDEX)
    assert as_rows(colocate_cell(tmp_path / "parts", index)) == CELL_EXPECTED
    assert as_rows(colocate_cell(str(tmp_path / "parts" / "*.parquet"), index)) == CELL_EXPECTED


def test_index_must_name_each_person_once(tmp_path):
    presence = write_presence(tmp_path / "presence.parquet", CELL_PRESENCE)
    index = write_index(tmp_path / "index.csv", [CELL_INDEX[0], CELL_INDEX[0]])
    with pytest.raises(ValueError, match="twice"):
        colocate_cell(presence, index)


def test_rules_render_parameters_as_integer_microseconds():
    assert "600000000" in rules.cell(min_overlap_minutes=10).sql
    assert "regulars" in rules.cell(min_cumulative_hours=30).sql
    with pytest.raises(ValueError):
        rules.venue(max_gap_minutes=-1)
    with pytest.raises(ValueError):
        rules.transport(max_row_distance=1.5)


# --------------------------------------------------------------------------- CLI

HEADER = "index_person_id,contact_person_id,episodes,overlap_minutes,first_contact_at\n"


def test_cli_cell_from_csv_keeps_leading_zeros(tmp_path):
    (tmp_path / "presence.csv").write_text(
        "person_id,cell_id,start,end\n"
        "007,0101,2026-01-05 09:00:00,2026-01-05 10:00:00\n"
        "042,0101,2026-01-05T09:30:00,2026-01-05 11:00:00\n"
        "043,101,2026-01-05 09:30:00,2026-01-05 11:00:00\n"
    )
    index = write_index(
        tmp_path / "index.csv", [("007", "2026-01-05 00:00:00", "2026-01-06 00:00:00")]
    )
    out = tmp_path / "out" / "contacts.csv"
    call_command(
        "colocate",
        "cell",
        "--presence",
        str(tmp_path / "presence.csv"),
        "--index",
        str(index),
        "--out",
        str(out),
        verbosity=0,
    )
    assert out.read_text() == HEADER + "007,042,1,30.00,2026-01-05 09:30:00\n"


@pytest.mark.parametrize("engine_name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_cli_cell_from_parquet(engine_name, request, tmp_path):
    if engine_name == "spark":
        request.getfixturevalue("spark")
    presence = write_presence(tmp_path / "presence.parquet", CELL_PRESENCE)
    index = write_index(tmp_path / "index.csv", CELL_INDEX)
    out = tmp_path / "contacts.csv"
    call_command(
        "colocate", "cell", "--presence", str(presence), "--index", str(index), "--out", str(out),
        "--min-overlap-minutes", "10", "--engine", engine_name, verbosity=0,
    )  # fmt: skip
    assert out.read_text() == (
        HEADER
        + "I1,I2,1,30.00,2026-01-05 12:30:00\n"
        + "I1,P_end15,1,15.00,2026-01-05 19:45:00\n"
        + "I1,P_exact,1,10.00,2026-01-05 09:50:00\n"
        + "I1,P_multi,2,57.33,2026-01-05 10:15:00\n"
        + "I1,P_start10,1,10.00,2026-01-05 08:00:00\n"
        + "I2,I1,1,30.00,2026-01-05 12:30:00\n"
    )


def test_cli_cell_cumulative_option(tmp_path):
    presence = write_presence(tmp_path / "presence.parquet", CUMULATIVE_PRESENCE)
    index = write_index(tmp_path / "index.csv", CUMULATIVE_INDEX)
    out = tmp_path / "contacts.csv"
    call_command(
        "colocate", "cell", "--presence", str(presence), "--index", str(index), "--out", str(out),
        "--min-cumulative-hours", "30", verbosity=0,
    )  # fmt: skip
    assert out.read_text() == HEADER + "I,R_exact,1,30.00,2026-01-10 09:00:00\n"


def test_cli_venue_from_csv(tmp_path):
    (tmp_path / "scans.csv").write_text(
        "person_id,venue_id,scanned_at\n" + "".join(f"{p},{v},{a}\n" for p, v, a in VENUE_SCANS)
    )
    index = write_index(tmp_path / "index.csv", VENUE_INDEX[:1])
    out = tmp_path / "contacts.csv"
    call_command(
        "colocate",
        "venue",
        "--scans",
        str(tmp_path / "scans.csv"),
        "--index",
        str(index),
        "--out",
        str(out),
        "--max-gap-minutes",
        "30",
        verbosity=0,
    )
    assert out.read_text() == (
        HEADER
        + "V,Q_after30,1,,2026-01-05 12:30:00\n"
        + "V,Q_before30,1,,2026-01-05 11:30:00\n"
        + "V,Q_edge,1,,2026-01-05 20:20:00\n"
        + "V,Q_multi,2,,2026-01-05 12:10:00\n"
        + "V,W,1,,2026-01-05 12:15:00\n"
    )


def test_cli_transport_from_csv(tmp_path):
    (tmp_path / "manifests.csv").write_text(
        "person_id,trip_id,date,carriage,seat_row\n"
        + "".join(f"{p},{tr},{d},{c},{r}\n" for p, tr, d, c, r in TRANSPORT_MANIFESTS)
    )
    index = write_index(tmp_path / "index.csv", TRANSPORT_INDEX)
    out = tmp_path / "contacts.csv"
    call_command(
        "colocate",
        "transport",
        "--manifests",
        str(tmp_path / "manifests.csv"),
        "--index",
        str(index),
        "--out",
        str(out),
        "--max-row-distance",
        "3",
        verbosity=0,
    )
    assert out.read_text() == (
        HEADER
        + "T,S_d3002,1,,2026-01-06 00:00:00\n"
        + "T,S_row13,1,,2026-01-05 00:00:00\n"
        + "T,S_row7,1,,2026-01-05 00:00:00\n"
    )


def test_cli_writes_a_header_when_nobody_is_found(tmp_path):
    presence = write_presence(tmp_path / "presence.parquet", CELL_PRESENCE)
    index = write_index(
        tmp_path / "index.csv", [("nobody", "2026-01-05 00:00:00", "2026-01-06 00:00:00")]
    )
    out = tmp_path / "contacts.csv"
    call_command(
        "colocate",
        "cell",
        "--presence",
        str(presence),
        "--index",
        str(index),
        "--out",
        str(out),
        verbosity=0,
    )
    assert out.read_text() == HEADER


def test_fangkong_colocate_runs_without_django(tmp_path):
    """`fangkong colocate` is dispatched before Django starts: same file, errors in one line."""
    import subprocess
    import sys

    presence = write_presence(tmp_path / "presence.parquet", CELL_PRESENCE)
    index = write_index(tmp_path / "index.csv", CELL_INDEX)
    out = tmp_path / "contacts.csv"
    code = (
        "import sys\nfrom fangkong.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    print(exc.code, 'django.conf' in sys.modules)\n"
    )
    run = [sys.executable, "-c", code, "colocate", "cell", "--index", str(index)]
    done = subprocess.run(
        [*run, "--presence", str(presence), "--out", str(out)], capture_output=True, text=True
    )
    assert done.stdout.splitlines() == [
        f"6 contacts of 2 index persons written to {out} in "
        + done.stdout.split(" in ")[1].split("\n")[0],
        "0 False",
    ]
    assert out.read_text().splitlines()[1] == "I1,I2,1,30.00,2026-01-05 12:30:00"
    failed = subprocess.run(
        [*run, "--presence", str(tmp_path / "missing.csv"), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert failed.stdout == "1 False\n"
    assert failed.stderr == f"CommandError: no such input: {tmp_path / 'missing.csv'}\n"
