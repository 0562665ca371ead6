"""Benchmark of `fangkong colocate cell`: DuckDB at full size, Spark and pandas on a smaller size.

    .venv/bin/python bench/colocate.py [--rows 100000000] [--runs 5] [--skip-spark] [--skip-pandas]

Generates a deterministic synthetic city (a square of 800 m cells, people with a home and a work
cell and some errands, stays of realistic length over 14 days, 1,000 index persons with windows of
2-4 days) into Parquet under bench/out/, then times the CLI end to end (process start to the
written CSV) and reports wall time and peak RSS. The smaller size also runs on Spark (local mode)
and on a plain pandas implementation, and their results are checked against DuckDB's.
pandas is needed only here (`pip install pandas`); it is not a dependency of the project.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FANGKONG = [str(ROOT / ".venv" / "bin" / "fangkong")]

DAYS = 14
SIDE = 120  # 120 x 120 cells of 800 m: a 96 km square, ~14k cells of which the city fills most
BASE_US = 1_793_491_200 * 1_000_000  # 2026-11-01 00:00:00, naive local time
US_MIN = 60_000_000
ROWS_PER_FILE = 10_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def _cells(rng: np.random.Generator, n: int, spread: float) -> np.ndarray:
    """Cells drawn around three centres (downtown and two new towns): density falls off outward."""
    centres = np.array([[60, 60], [35, 80], [85, 40]])
    which = rng.choice(3, size=n, p=[0.6, 0.2, 0.2])
    xy = centres[which] + rng.normal(0, spread, size=(n, 2))
    xy = np.clip(np.rint(xy), 0, SIDE - 1).astype(np.int32)
    return xy[:, 0] * SIDE + xy[:, 1]


def _chunk(seed: int, first: int, people: int, per_person: int, total_people: int) -> pa.Table:
    """Stays of `people` consecutive people: non-overlapping, sorted by start like a telecom export."""
    rng = np.random.default_rng([seed, first])
    internal = np.arange(first, first + people, dtype=np.int64)
    # IDs scattered over the population (an affine bijection) so files carry no ID locality.
    person_ids = 10_000_000_000 + (internal * 7_368_787 + 1_234_567) % total_people
    home = _cells(rng, people, 14)
    work = _cells(rng, people, 7)
    n = people * per_person
    starts = (
        np.sort(rng.integers(0, DAYS * 24 * 3600, size=(people, per_person)), axis=1) * 1_000_000
    )
    kind = rng.choice(3, size=(people, per_person), p=[0.45, 0.3, 0.25])  # home, work, errand
    median_min = np.array([360.0, 180.0, 40.0])[kind]
    duration = np.exp(rng.normal(np.log(median_min), 0.8)) * US_MIN
    duration = np.clip(duration, US_MIN, 12 * 60 * US_MIN).astype(np.int64)
    # A stay ends before the person's next one starts (a phone is in one cell at a time).
    next_start = np.concatenate(
        [starts[:, 1:], np.full((people, 1), DAYS * 24 * 3600 * 1_000_000)], axis=1
    )
    ends = np.minimum(starts + duration, np.maximum(next_start, starts + 1_000_000))
    errand = _cells(rng, n, 10).reshape(people, per_person)
    cell = np.where(kind == 0, home[:, None], np.where(kind == 1, work[:, None], errand))
    order = np.argsort(starts.ravel(), kind="stable")
    return pa.table(
        {
            "person_id": np.repeat(person_ids, per_person)[order],
            "cell_id": cell.ravel()[order].astype(np.int32),
            "start": pa.array(starts.ravel()[order] + BASE_US, pa.int64()).cast(pa.timestamp("us")),
            "end": pa.array(ends.ravel()[order] + BASE_US, pa.int64()).cast(pa.timestamp("us")),
        }
    )


def generate(rows: int, people: int, index_persons: int, seed: int) -> tuple[Path, Path]:
    """bench/out/presence_<rows>/ and its index CSV; reused when already generated."""
    per_person = rows // people
    folder = OUT / f"presence_{rows}"
    index = OUT / f"index_{rows}.csv"
    stamp = folder / "_generated.json"
    meta = {"rows": rows, "people": people, "seed": seed, "index_persons": index_persons, "v": 2}
    if stamp.exists() and json.loads(stamp.read_text()) == meta and index.exists():
        return folder, index
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    began = time.perf_counter()
    people_per_file = ROWS_PER_FILE // per_person
    for part, first in enumerate(range(0, people, people_per_file)):
        table = _chunk(seed, first, min(people_per_file, people - first), per_person, people)
        pq.write_table(table, folder / f"part-{part:04d}.parquet", row_group_size=1 << 20)
        log(f"  generated {min(first + people_per_file, people) * per_person:,} rows")
    rng = np.random.default_rng([seed, 10**9])
    chosen = rng.choice(people, size=index_persons, replace=False)
    ids = 10_000_000_000 + (chosen * 7_368_787 + 1_234_567) % people
    end_s = rng.integers(4 * 86400, DAYS * 86400, size=index_persons)
    start_s = end_s - rng.integers(2 * 86400, 4 * 86400, size=index_persons)
    lines = ["person_id,window_start,window_end"]
    for pid, ws, we in zip(ids, start_s, end_s, strict=True):
        lines.append(f"{pid},{_fmt(ws)},{_fmt(we)}")
    index.write_text("\n".join(lines) + "\n")
    stamp.write_text(json.dumps(meta))
    size = sum(f.stat().st_size for f in folder.glob("*.parquet"))
    log(
        f"  {rows:,} rows, {size / 2**30:.1f} GiB of Parquet in {time.perf_counter() - began:.0f} s"
    )
    return folder, index


def _fmt(seconds: int) -> str:
    return str(np.datetime64(BASE_US // 1_000_000 + int(seconds), "s")).replace("T", " ")


# --------------------------------------------------------------------------- measuring


def _tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants (the Spark JVM is a grandchild)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            pid = int(entry)
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a command, the whole process tree sampled every 20 ms."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err[-3000:]}")
    # ru_maxrss (KiB) is exact for the CLI process itself; the sampled tree covers the JVM.
    return wall, max(peak, usage.ru_maxrss * 1024)


def bench_cli(name: str, argv: list[str], runs: int) -> dict:
    walls, peaks = [], []
    for i in range(runs):
        wall, peak = measure(argv)
        walls.append(wall)
        peaks.append(peak)
        log(f"  {name} run {i + 1}: {wall:.2f} s, peak RSS {peak / 2**30:.2f} GiB")
    return {
        "name": name,
        "median_s": statistics.median(walls),
        "runs": walls,
        "peak_gib": max(peaks) / 2**30,
    }


def pandas_cell(folder: Path, index: Path, out: Path, min_minutes: float = 10) -> None:
    """The straightforward pandas version of the cell rule, for comparison (and as a cross-check)."""
    import pandas as pd

    presence = pd.read_parquet(folder)
    idx = pd.read_csv(index, dtype={"person_id": str}, parse_dates=["window_start", "window_end"])
    idx["person_id"] = idx["person_id"].astype("int64")
    minimum = pd.Timedelta(minutes=min_minutes)
    stays = presence.merge(idx, on="person_id")
    stays["s"] = stays[["start", "window_start"]].max(axis=1)
    stays["e"] = stays[["end", "window_end"]].min(axis=1)
    stays = stays[stays["e"] - stays["s"] >= minimum][["person_id", "cell_id", "s", "e"]]
    pairs = stays.rename(columns={"person_id": "index_person_id"}).merge(presence, on="cell_id")
    pairs = pairs[pairs["person_id"] != pairs["index_person_id"]]
    pairs["os"] = pairs[["s", "start"]].max(axis=1)
    pairs["oe"] = pairs[["e", "end"]].min(axis=1)
    pairs["overlap"] = pairs["oe"] - pairs["os"]
    pairs = pairs[pairs["overlap"] >= minimum]
    result = (
        pairs.groupby(["index_person_id", "person_id"])
        .agg(episodes=("overlap", "size"), overlap=("overlap", "sum"), first=("os", "min"))
        .reset_index()
    )
    us = result["overlap"].dt.total_seconds().mul(1e6).round().astype("int64")
    result = pd.DataFrame(
        {
            "index_person_id": result["index_person_id"].astype(str),
            "contact_person_id": result["person_id"].astype(str),
            "episodes": result["episodes"],
            "overlap_minutes": ((us * 100 + 30_000_000) // 60_000_000).map(
                lambda h: f"{h // 100}.{h % 100:02d}"
            ),
            "first_contact_at": result["first"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        }
    ).sort_values(["index_person_id", "contact_person_id"])
    result.to_csv(out, index=False, lineterminator="\n")


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=100_000_000, help="presence rows of the DuckDB run"
    )
    parser.add_argument(
        "--small-rows", type=int, default=10_000_000, help="size of the Spark/pandas runs"
    )
    parser.add_argument(
        "--people", type=int, default=10_000_000, help="population of the --rows run"
    )
    parser.add_argument("--index-persons", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--spark-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []

    def cli(folder: Path, index: Path, out: Path, engine: str) -> list[str]:
        return [*FANGKONG, "colocate", "cell", "--presence", str(folder), "--index", str(index),
                "--out", str(out), "--engine", engine]  # fmt: skip

    log(f"data: {args.rows:,} presence rows")
    folder, index = generate(args.rows, args.people, args.index_persons, args.seed)
    big_out = OUT / f"contacts_duckdb_{args.rows}.csv"
    results.append(
        {
            **bench_cli(
                f"DuckDB, {args.rows:,} rows", cli(folder, index, big_out, "duckdb"), args.runs
            )
        }
    )
    results[-1]["contacts"] = sum(1 for _ in open(big_out)) - 1

    if not (args.skip_spark and args.skip_pandas):
        log(f"data: {args.small_rows:,} presence rows")
        small, small_index = generate(
            args.small_rows, args.small_rows // 10, args.index_persons, args.seed
        )
        reference = OUT / f"contacts_duckdb_{args.small_rows}.csv"
        results.append(
            bench_cli(
                f"DuckDB, {args.small_rows:,} rows",
                cli(small, small_index, reference, "duckdb"),
                args.runs,
            )
        )
        results[-1]["contacts"] = sum(1 for _ in open(reference)) - 1
        if not args.skip_spark:
            out = OUT / f"contacts_spark_{args.small_rows}.csv"
            results.append(
                bench_cli(
                    f"Spark local[*], {args.small_rows:,} rows",
                    cli(small, small_index, out, "spark"),
                    args.spark_runs,
                )
            )
            results[-1]["identical"] = out.read_bytes() == reference.read_bytes()
        if not args.skip_pandas:
            out = OUT / f"contacts_pandas_{args.small_rows}.csv"
            code = (f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import colocate; "
                    f"colocate.pandas_cell(colocate.Path({str(small)!r}), colocate.Path({str(small_index)!r}), "
                    f"colocate.Path({str(out)!r}))")  # fmt: skip
            results.append(
                bench_cli(
                    f"pandas, {args.small_rows:,} rows",
                    [sys.executable, "-c", code],
                    args.spark_runs,
                )
            )
            results[-1]["identical"] = out.read_bytes() == reference.read_bytes()

    print("\n| run | median wall (s) | runs (s) | peak RSS (GiB) | contacts / same as DuckDB |")
    print("| --- | ---: | --- | ---: | --- |")
    for r in results:
        runs = ", ".join(f"{w:.2f}" for w in r["runs"])
        check = r.get("contacts", "yes" if r.get("identical") else "NO" if "identical" in r else "")
        print(f"| {r['name']} | {r['median_s']:.2f} | {runs} | {r['peak_gib']:.2f} | {check} |")


if __name__ == "__main__":
    main()
