"""Benchmark of vaccination at city scale on PostgreSQL: the doses file imported, coverage read.

    .venv/bin/python bench/vaccination.py [--population 10000000] [--runs 3] [--reads 20]

Builds the synthetic city (`fangkong synth --population N --seed 2022`) in the database
fangkong_vaccination_bench unless it already holds N people, creates a vaccination site per
district, writes the vaccination system's file for everyone (about 2.5 doses a person: first
dose ~93 %, full course ~90 %, booster ~60 %, a second booster for a third of the boosted
elderly; five products), then for each run empties the doses and times the CLI end to end
(`fangkong vaccination import FILE`, process start to exit, the coverage counters included).
Then it times the city's coverage (the API as the commander, in process, `--reads` times) and a
re-import of a 1 % slice of the file (the staging path: nothing new). Medians are printed and
written to bench/out/vaccination.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DB = os.environ.get("FK_BENCH_DB", "fangkong_vaccination_bench")
# The only databases this bench may touch (this lane's prefixes).
assert DB.startswith(("fangkong_vaccination", "fangkong_vacc2")), DB
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ENV = {**os.environ, "FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
FANGKONG = [str(ROOT / ".venv" / "bin" / "fangkong")]
os.environ.update({k: ENV[k] for k in ("FANGKONG_DATABASE_URL", "DJANGO_SETTINGS_MODULE")})


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, flush=True)


def cli(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    # GNU time adds the process's peak resident memory to stderr (its last line).
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak_rss_kb=%M", *FANGKONG, *args],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"fangkong {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout + done.stderr.strip().splitlines()[-1]


def psql(statement: str) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-At", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def build_city(population: int) -> None:
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], capture_output=True)
    cli("migrate", "-v", "0")
    have = int(psql("SELECT count(*) FROM people_person") or 0)
    if have == population:
        log(f"the city of {population:,} people is there")
        return
    log(f"building a city of {population:,} people with fangkong synth")
    elapsed, _ = cli("synth", "--population", str(population), "--seed", "2022", "--reset")
    log(f"  synth in {elapsed:.0f} s")
    psql("VACUUM ANALYZE people_person")


def setup_django():
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def sites() -> dict[str, str]:
    """One vaccination site per district: district path -> site code."""
    from fangkong.geo.models import Jurisdiction
    from fangkong.vaccination.models import Site

    out = {}
    for district in Jurisdiction.objects.filter(level="district").order_by("path"):
        code = f"JZ-{district.code}"
        if not Site.objects.filter(code=code).exists():
            Site.objects.create(
                code=code,
                name=f"{district.name}接种点",
                jurisdiction=district,
                jpath=district.path,
            )
        out[district.path] = code
    return out


def write_file(population: int, path: Path, site_of: dict[str, str]) -> int:
    """Everyone's doses as the vaccination system exports them, built column-wise with Arrow."""
    if path.exists():
        return sum(1 for _ in path.open("rb")) - 1
    log("reading the registry")
    raw = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            DB,
            "-c",
            "COPY (SELECT document_number, birth_date, jpath FROM people_person ORDER BY id) "
            "TO STDOUT (FORMAT csv)",
        ],
        capture_output=True,
        check=True,
    ).stdout
    people = pacsv.read_csv(
        pa.py_buffer(raw),
        read_options=pacsv.ReadOptions(column_names=["n", "b", "p"]),
        convert_options=pacsv.ConvertOptions(
            column_types={"n": pa.string(), "b": pa.date32(), "p": pa.string()}
        ),
    )
    del raw
    n = people.num_rows
    rng = np.random.default_rng(2022)
    birth = people.column("b").combine_chunks().cast(pa.int32()).to_numpy()
    age = (np.datetime64("2022-06-01").astype("datetime64[D]").astype(int) - birth) / 365.25
    draw = rng.random(n)
    # (first, full, booster) by age: a little lower among the oldest, none under 3.
    first = np.select([age < 3, age >= 80, age >= 60], [0.0, 0.70, 0.90], 0.95)
    full = np.select([age < 3, age >= 80, age >= 60], [0.0, 0.62, 0.86], 0.93)
    boost = np.select([age < 3, age >= 80, age >= 60], [0.0, 0.35, 0.66], 0.80)
    codes = np.array(["BBIBP", "CORONAVAC", "WIBP", "ZF2001", "AD5NCOV"])
    primary = np.array([2, 2, 2, 3, 1])
    course = rng.choice(5, size=n, p=[0.42, 0.33, 0.08, 0.10, 0.07])
    want = np.where(draw < first, 1, 0)
    want = np.where(draw < full, primary[course], want)
    want = np.where(draw < boost, primary[course] + 1, want)
    want = np.where((draw < boost * 0.3) & (age >= 60), primary[course] + 2, want)
    total = int(want.sum())
    log(f"writing {total:,} doses for {n:,} people")
    who = np.repeat(np.arange(n), want)
    starts = np.cumsum(want) - want
    dose = np.arange(total) - np.repeat(starts, want) + 1
    start_day = rng.integers(0, 240, size=n)[who]
    gap = np.where(dose > primary[course][who], 200, 35)
    gap[dose == 1] = 0
    # Days since the start: cumulative gaps within each person.
    cumulative = np.cumsum(gap)
    has = want > 0
    base = np.repeat(cumulative[starts[has]] - gap[starts[has]], want[has])
    offset = cumulative - base
    day = np.datetime64("2021-03-01") + (start_day + offset).astype("timedelta64[D]")
    days = np.unique(day)
    minutes = np.arange(8 * 60, 17 * 60, 7)
    texts = pa.array(
        [f"{d} {m // 60:02d}:{m % 60:02d}:00" for d in days.astype(str) for m in minutes]
    )
    pick = np.searchsorted(days, day) * len(minutes) + rng.integers(0, len(minutes), size=total)
    product = np.where(dose > primary[course][who], 0, course[who])  # boosters: BBIBP
    district = pc.utf8_slice_codeunits(people.column("p").combine_chunks(), 0, 22)
    encoded = pc.dictionary_encode(district)
    site_codes = pa.array(
        [site_of.get(p, next(iter(site_of.values()))) for p in encoded.dictionary.to_pylist()]
    )
    site = site_codes.take(encoded.indices).take(pa.array(who))
    lots = pa.array(
        [f"{c[:2]}{d.astype(str)[:7].replace('-', '')}" for c in codes for d in days[::30]]
    )
    lot_pick = product * len(days[::30]) + np.minimum(
        np.searchsorted(days[::30], day), len(days[::30]) - 1
    )
    numbers = people.column("n").combine_chunks()
    del people
    order = rng.permutation(total)  # the system's export is in no particular order
    # Written in slices: the whole 25-million-row table at once took well over 4 GB.
    step = 2_500_000
    product_codes = pa.array(codes)
    product_a, lot_a, dose_a, pick_a = (
        pa.array(product),
        pa.array(lot_pick),
        pa.array(dose, pa.int32()),
        pa.array(pick),
    )
    path.write_text("id_number,product_code,lot,dose_number,given_at,site_code\n")
    with (
        path.open("ab") as out,
        pacsv.CSVWriter(
            out,
            pa.schema(
                [(c, pa.string()) for c in ("id_number", "product_code", "lot")]
                + [
                    ("dose_number", pa.int32()),
                    ("given_at", pa.string()),
                    ("site_code", pa.string()),
                ]
            ),
            # The header unquoted, as the vaccination system writes it.
            write_options=pacsv.WriteOptions(quoting_style="none", include_header=False),
        ) as writer,
    ):
        for start in range(0, total, step):
            rows = pa.array(order[start : start + step])
            at = pa.array(who[order[start : start + step]])
            writer.write_table(
                pa.table(
                    {
                        "id_number": numbers.take(at),
                        "product_code": product_codes.take(product_a.take(rows)),
                        "lot": lots.take(lot_a.take(rows)),
                        "dose_number": dose_a.take(rows),
                        "given_at": texts.take(pick_a.take(rows)),
                        "site_code": site.take(rows),
                    }
                )
            )
    return total


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument(
        "--prepare", action="store_true", help="build the city and the file, time nothing"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    build_city(args.population)
    setup_django()
    site_of = sites()
    path = OUT / f"vaccination-doses-{args.population}.csv"
    doses = write_file(args.population, path, site_of)
    log(f"file: {path} ({path.stat().st_size / 1e9:.2f} GB, {doses:,} doses)")
    if args.prepare:
        return
    imports, loads, peaks = [], [], []
    for run in range(args.runs):
        psql(
            "TRUNCATE vaccination_aefifollowup, vaccination_aefi, vaccination_dose, vaccination_gridcoverage"
        )
        psql("VACUUM ANALYZE vaccination_dose")
        before = load_average()
        elapsed, out = cli("vaccination", "-v", "2", "import", str(path))
        imports.append(elapsed)
        peaks.append(round(int(out.rsplit("peak_rss_kb=", 1)[1]) / 1024**2, 2))
        loads.append(before)
        log(f"import run {run + 1}: {elapsed:.1f} s (load before {before})\n{out}")
    psql("VACUUM ANALYZE vaccination_dose")
    psql("VACUUM ANALYZE vaccination_gridcoverage")
    stored = int(psql("SELECT count(*) FROM vaccination_dose"))
    # A 1 % slice imported again: the staging path, every row already stored.
    part = OUT / "vaccination-doses-slice.csv"
    with path.open("rb") as src, part.open("wb") as dst:
        for i, line in enumerate(src):
            if i <= doses // 100:
                dst.write(line)
            else:
                break
    slice_s, slice_out = cli("vaccination", "import", str(part))
    log(f"re-import of a 1 % slice: {slice_s:.1f} s: {slice_out.strip()}")
    from django.test import Client

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction

    commander, _created = User.objects.get_or_create(
        username="bench_commander",
        defaults={"role": "commander", "jurisdiction": Jurisdiction.objects.get(level="city")},
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(commander)
    reads = []
    body = None
    for _ in range(args.reads):
        started = time.perf_counter()
        answer = client.get("/api/v1/vaccination/coverage/")
        reads.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.content[:300]
        body = answer.json()
    total = body["total"]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "population": args.population,
        "doses_in_file": doses,
        "doses_stored": stored,
        "file_gb": round(path.stat().st_size / 1e9, 2),
        "import_seconds": [round(x, 1) for x in imports],
        "import_median_s": round(statistics.median(imports), 1),
        "load_before_each_import": loads,
        "import_peak_rss_gb": peaks,
        "slice_reimport_s": round(slice_s, 1),
        "coverage_api_median_ms": round(1000 * statistics.median(reads), 1),
        "coverage_api_max_ms": round(1000 * max(reads), 1),
        "coverage": {k: total[k] for k in ("population", "first_pct", "full_pct", "booster_pct")},
        "elderly_80_full_pct": body["elderly"]["aged_80_plus"]["full_pct"],
        "load_average_end": load_average(),
    }
    (OUT / "vaccination.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
