"""Run every benchmark, print the table, and append it (with date and machine) to RESULTS.md.

    python -m benchmarks.run              # full sizes, 3 runs of each, recorded
    python -m benchmarks.run --quick      # tiny sizes, 1 run, not recorded (the test suite's smoke)

Run it from the repository root with the project's Python (the virtualenv's).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from . import delivery, disk, ledger, preparation, sending

HERE = Path(__file__).resolve().parent
RECORD = HERE / "RESULTS.md"
LIBRARIES = ("aiohttp", "uvloop", "python-calamine", "xlsxwriter")
LIBRARIES += ("phonenumbers", "jinja2")
MEMORY_LIMIT_MB = 1024
LATENCIES_MS = (20.0, 50.0, 100.0)


@dataclass(frozen=True)
class Sizes:
    messages: int
    latencies_ms: tuple[float, ...]
    xlsx_rows: int
    csv_rows: int
    repeat: int
    ledger_rows: int = 1_000_000  # plan rows checked against as many past sends
    status_ids: int = 100_000
    syncs: int = 2_000  # journal commits timed one after another

    @classmethod
    def full(cls, repeat: int) -> Sizes:
        return cls(5_000, LATENCIES_MS, 100_000, 1_000_000, repeat)

    @classmethod
    def quick(cls, repeat: int) -> Sizes:
        return cls(
            200, LATENCIES_MS, 2_000, 5_000, repeat, ledger_rows=5_000, status_ids=5_000, syncs=50
        )


@dataclass(frozen=True)
class Row:
    """One line of the table: our figure, the yardstick's, their ratio, the target."""

    measure: str
    ours: str
    yardstick: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None


def send_rows(sizes: Sizes, folder: Path) -> list[Row]:
    pace_s = LATENCIES_MS[0] / 1000 / sending.CONCURRENCY  # one message each 2 ms at 20 ms
    rows = []
    for gap_s, how in ((0.0, "in a row"), (pace_s, f"{pace_s * 1000:g} ms apart (20 ms's pace)")):
        syncs = disk.synced_commits(folder, sizes.syncs, gap_s)
        rows.append(
            Row(
                f"disk: one synced journal commit, {sizes.syncs:,} {how}: µs median (p90)",
                f"{syncs.median_us:.0f} ({syncs.p90_us:.0f})",
            )
        )
    for latency in sizes.latencies_ms:
        result = sending.compare(latency, sizes.messages, sizes.repeat, folder)
        ceiling = sending.CONCURRENCY / (latency / 1000)
        ours = statistics.median(s.rate for s in result.ours)
        ref = statistics.median(s.rate for s in result.reference)
        cpu = statistics.median(s.cpu_ms_per_message for s in result.ours)
        ref_cpu = statistics.median(s.cpu_ms_per_message for s in result.reference)
        name = f"send {sizes.messages:,} msgs @ {latency:g} ms"
        rows += [
            Row(
                f"{name}: msg/s (share of the {ceiling:g}/s ceiling)",
                f"{ours:.0f} ({ours / ceiling:.0%})",
                f"{ref:.0f} ({ref / ceiling:.0%})",
                f"{ours / ref:.3f}",
                "≥ 0.95",
                ours / ref >= 0.95,
            ),
            Row(
                f"{name}: client CPU ms/msg", f"{cpu:.3f}", f"{ref_cpu:.3f}", f"{cpu / ref_cpu:.2f}"
            ),
            Row(f"{name}: peak requests in flight (server)", str(result.peak_concurrency)),
        ]
    return rows


STATUS_LATENCY_MS = 50.0


def status_rows(sizes: Sizes, folder: Path) -> list[Row]:
    results = delivery.measure(sizes.status_ids, STATUS_LATENCY_MS, sizes.repeat, folder)
    seconds = statistics.median(r.seconds for r in results)
    cpu = statistics.median(r.cpu_seconds for r in results)
    limit = results[0].limit_s
    name = f"status of {sizes.status_ids:,} sent msgs @ {STATUS_LATENCY_MS:g} ms"
    return [
        Row(
            f"{name}: s (the API's limit: 100 ids a request, 10 at once)",
            f"{seconds:.2f}",
            f"{limit:.2f}",
            f"{limit / seconds:.2f}",
            "≥ 0.8",
            limit / seconds >= 0.8,
        ),
        Row(f"{name}: client CPU s", f"{cpu:.2f}"),
        Row(f"{name}: peak requests in flight (server)", str(results[0].peak_concurrency)),
    ]


def prepare_rows(sizes: Sizes, folder: Path) -> list[Row]:
    xlsx = preparation.compare_xlsx(sizes.xlsx_rows, sizes.repeat, folder)
    ours, floor = statistics.median(xlsx.ours), statistics.median(xlsx.floor)
    csv_runs = [preparation.csv_dry_run(sizes.csv_rows, folder) for _ in range(sizes.repeat)]
    seconds = statistics.median(run.seconds for run in csv_runs)
    peak = max(run.peak_mb for run in csv_runs)
    cpu = statistics.median(run.cpu_seconds for run in csv_runs)
    name = f"dry run, {sizes.csv_rows:,}-row CSV → XLSX results (own process)"
    on, off = preparation.compare_windows(sizes.csv_rows, sizes.repeat, folder)
    with_windows, without = statistics.median(on), statistics.median(off)
    return [
        Row(
            f"dry run, {sizes.xlsx_rows:,}-row XLSX: s (floor: calamine read + xlsxwriter write)",
            f"{ours:.2f}",
            f"{floor:.2f}",
            f"{ours / floor:.2f}",
            "≤ 1.5",
            ours / floor <= 1.5,
        ),
        Row(f"{name}: s (CPU s)", f"{seconds:.1f} ({cpu:.1f})", target="≤ 60 s", met=seconds <= 60),
        Row(
            f"{name}: peak memory MB",
            f"{peak:.0f}",
            target=f"≤ {MEMORY_LIMIT_MB} MB",
            met=peak <= MEMORY_LIMIT_MB,
        ),
        Row(
            f"{name} with a send window: s (without windows or country rules)",
            f"{with_windows:.1f}",
            f"{without:.1f}",
            f"{with_windows / without:.3f}",
            "≤ 1.10",
            with_windows / without <= 1.10,
        ),
    ]


def ledger_table(sizes: Sizes, folder: Path) -> list[Row]:
    result = ledger.measure(sizes.messages, sizes.ledger_rows, sizes.repeat, folder)
    without = statistics.median(s.rate for s in result.sends["without"])
    rows = []
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if backend not in result.check_s:
            rows.append(Row(f"ledger, {label}", f"not run: {result.postgres_missing}"))
            continue
        rate = statistics.median(s.rate for s in result.sends[backend])
        check = result.check_s[backend]
        rows += [
            Row(
                f"ledger {label}, send {sizes.messages:,} msgs @ {ledger.LATENCY_MS:g} ms with a"
                " cap: msg/s (without the ledger)",
                f"{rate:.0f}",
                f"{without:.0f}",
                f"{rate / without:.3f}",
                "≥ 0.95",
                rate / without >= 0.95,
            ),
            Row(
                f"ledger {label}, check {sizes.ledger_rows:,} rows against"
                f" {sizes.ledger_rows:,} past sends: s",
                f"{check:.2f}",
                target="≤ 10 s",
                met=check <= 10,
            ),
        ]
    return rows


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| measure | ours | reference / floor | ratio | target | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.measure} | {r.ours} | {r.yardstick} | {r.ratio} | {r.target} | {met} |")
    return "\n".join(lines)


def machine() -> str:
    """Cores, CPU, OS, Python and library versions, one line each."""
    versions = ", ".join(f"{name} {_version(name)}" for name in ("wooxy-bulk", *LIBRARIES))
    return "\n".join(
        (
            f"- machine: {os.cpu_count()} cores, {_cpu_model()}, {platform.platform()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()})",
            f"- {versions}",
        )
    )


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def record(path: Path, sizes: Sizes, rows: Sequence[Row], seconds: float) -> None:
    """Append this run's table, dated, with the machine it ran on."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    settings = f"medians of {sizes.repeat} run(s) each; the whole benchmark took {seconds:.0f} s"
    entry = f"\n## {when}\n\n{machine()}\n- {settings}\n\n{table(rows)}\n"
    if not path.exists():
        path.write_text("# Benchmark results\n", encoding="utf-8")
    with path.open("a", encoding="utf-8") as f:
        f.write(entry)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 1 run; no record")
    parser.add_argument("--repeat", type=int, help="runs of each measurement (default 3; quick 1)")
    parts = ("send", "status", "prepare", "ledger")
    parser.add_argument("--only", choices=parts, help="run one part only")
    parser.add_argument("--data", type=Path, default=HERE / ".data", help="generated files")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--record", type=Path, help=f"append to this file (default {RECORD.name})")
    where.add_argument("--no-record", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    sizes = Sizes.quick(repeat) if args.quick else Sizes.full(repeat)
    args.data.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    rows: list[Row] = []
    if args.only in (None, "send"):
        rows += send_rows(sizes, args.data)
    if args.only in (None, "status"):
        rows += status_rows(sizes, args.data)
    if args.only in (None, "prepare"):
        rows += prepare_rows(sizes, args.data)
    if args.only in (None, "ledger"):
        rows += ledger_table(sizes, args.data)
    seconds = time.monotonic() - started
    if args.quick:  # too small to judge a target by
        rows = [replace(row, met=None) for row in rows]
    print(table(rows))
    print(f"\n{machine()}\n- took {seconds:.0f} s")
    target = args.record or (None if args.quick or args.no_record else RECORD)
    if target is not None:
        record(target, sizes, rows, seconds)
        print(f"Recorded in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
