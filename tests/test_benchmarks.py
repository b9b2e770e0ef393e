"""Smoke runs of the benchmarks (tiny sizes) so that they cannot rot; no timed assertions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
MEASURES = [
    "disk: one synced journal commit, 50 in a row: µs median (p90)",
    "disk: one synced journal commit, 50 2 ms apart (20 ms's pace): µs median (p90)",
    *(
        f"send 200 msgs @ {latency} ms: {measure}"
        for latency, ceiling in ((20, 500), (50, 200), (100, 100))
        for measure in (
            f"msg/s (share of the {ceiling}/s ceiling)",
            "client CPU ms/msg",
            "peak requests in flight (server)",
        )
    ),
    "status of 5,000 sent msgs @ 50 ms: s (the API's limit: 100 ids a request, 10 at once)",
    "status of 5,000 sent msgs @ 50 ms: client CPU s",
    "status of 5,000 sent msgs @ 50 ms: peak requests in flight (server)",
    "dry run, 2,000-row XLSX: s (floor: calamine read + xlsxwriter write)",
    "dry run, 5,000-row CSV → XLSX results (own process): s (CPU s)",
    "dry run, 5,000-row CSV → XLSX results (own process): peak memory MB",
    "dry run, 5,000-row CSV → XLSX results (own process) with a send window: s"
    " (without windows or country rules)",
    "ledger SQLite, send 200 msgs @ 20 ms with a cap: msg/s (without the ledger)",
    "ledger SQLite, check 5,000 rows against 5,000 past sends: s",
    "ledger PostgreSQL, send 200 msgs @ 20 ms with a cap: msg/s (without the ledger)",
    "ledger PostgreSQL, check 5,000 rows against 5,000 past sends: s",
]


def benchmark(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`python -m benchmarks.run ARGS` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def table_rows(text: str) -> dict[str, list[str]]:
    """The table's data rows: measure → its other cells."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("measure", "---"):
            rows[cells[0]] = cells[1:]
    return rows


def figures(cell: str) -> list[float]:
    return [float(n.replace(",", "")) for n in NUMBER.findall(cell)]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One quick benchmark run recorded into a temporary RESULTS.md: (stdout, record)."""
    folder = tmp_path_factory.mktemp("bench")
    record = folder / "RESULTS.md"
    done = benchmark("--quick", "--data", folder / "data", "--record", record)
    assert done.returncode == 0, done.stderr
    return done.stdout, record


def test_quick_run_prints_every_row_with_positive_figures(quick_run: tuple[str, Path]) -> None:
    """Every measure is in the table; ours, the yardstick and their ratio are positive."""
    rows = table_rows(quick_run[0])
    assert list(rows) == MEASURES
    for measure, (ours, yardstick, ratio, _target, _met) in rows.items():
        assert figures(ours) and all(n > 0 for n in figures(ours)), measure
        if yardstick:
            assert figures(yardstick)[0] > 0 and figures(ratio)[0] > 0, measure


def test_send_rate_is_judged_against_the_reference_and_cpu_only_reported(
    quick_run: tuple[str, Path],
) -> None:
    """At 20, 50 and 100 ms the send rate's target is ≥ 0.95 × the reference; CPU has none."""
    rows = table_rows(quick_run[0])
    targets = {m: cells[3] for m, cells in rows.items() if m.startswith("send ")}
    rates = [m for m in targets if "msg/s" in m]
    assert [m.split(" @ ")[1].split(":")[0] for m in rates] == ["20 ms", "50 ms", "100 ms"]
    assert all(targets[m] == "≥ 0.95" for m in rates)
    assert all(targets[m] == "" for m in targets if m not in rates)


def test_both_clients_kept_within_ten_requests_in_flight(quick_run: tuple[str, Path]) -> None:
    """The lean server saw at most 10 requests at once (and some concurrency at all)."""
    rows = table_rows(quick_run[0])
    peaks = [figures(cells[0])[0] for m, cells in rows.items() if "peak requests" in m]
    assert peaks and all(1 < peak <= 10 for peak in peaks)


def test_the_record_has_the_date_machine_and_table(quick_run: tuple[str, Path]) -> None:
    """--record appends a dated entry with cores, Python and library versions, and the table."""
    text = quick_run[1].read_text(encoding="utf-8")
    assert re.search(r"^## \d{4}-\d\d-\d\d \d\d:\d\d UTC$", text, re.MULTILINE)
    assert re.search(r"- machine: \d+ cores", text)
    assert "- Python 3." in text and "aiohttp " in text and "python-calamine " in text
    assert list(table_rows(text)) == MEASURES


def test_quick_run_leaves_the_results_file_alone(tmp_path: Path) -> None:
    """Without --record, --quick prints the table but does not append to RESULTS.md."""
    results = ROOT / "benchmarks" / "RESULTS.md"
    before = results.read_bytes() if results.exists() else None
    done = benchmark("--quick", "--only", "prepare", "--data", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dry run, 2,000-row XLSX" in done.stdout
    assert "Recorded in" not in done.stdout
    assert (results.read_bytes() if results.exists() else None) == before


def test_compare_sends_with_each_checkout_and_the_reference() -> None:
    """benchmarks.compare runs each NAME=FOLDER and the reference and prints a median line each."""
    sizes = ("--messages", "20", "--rounds", "1", "--latency-ms", "1")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", f"a={ROOT}", f"b={ROOT}", *sizes],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout.split("medians of 1:")[1].strip().splitlines()
    medians = {line.split()[0]: figures(line) for line in summary}
    assert set(medians) == {"a", "b", "reference"}
    assert all(rate > 0 and cpu > 0 and share > 0 for rate, cpu, share in medians.values())
    assert medians["reference"][2] == 1.0


def test_compare_refuses_a_variant_that_is_not_a_folder(tmp_path: Path) -> None:
    """A variant without NAME= or whose folder does not exist is refused before anything runs."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare", f"a={tmp_path / 'missing'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "expected NAME=FOLDER of a checkout" in done.stderr
