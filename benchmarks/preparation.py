"""Preparation: dry runs of large sheets against the floor of merely reading and writing them.

The XLSX dry run (load_campaign → prepare → write_results) and the floor (calamine reads every
row into Python lists; xlsxwriter in constant-memory mode writes the same rows) run in this
process, alternately. The large CSV dry run runs as the user runs it, ``wooxy-bulk run X
--dry-run --quiet`` in a child process, whose own peak memory and CPU time come from wait4().
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook

from wooxy_bulk.campaign import load_campaign
from wooxy_bulk.plan.rows import Plan, Status, prepare
from wooxy_bulk.results import write_results

from . import data


def dry_run(campaign: Path) -> tuple[float, Plan]:
    """Seconds for load_campaign → prepare → write_results, and the plan."""
    gc.collect()
    started = time.perf_counter()
    loaded = load_campaign(campaign)
    plan = prepare(loaded)
    write_results(loaded.results_path, plan)
    return time.perf_counter() - started, plan


def floor(contacts: Path, written: Path) -> tuple[float, int]:
    """Seconds to read every row with calamine and write them with xlsxwriter; rows read."""
    gc.collect()
    started = time.perf_counter()
    with CalamineWorkbook.from_path(str(contacts)) as book:
        rows = book.get_sheet_by_index(0).to_python()
    workbook = xlsxwriter.Workbook(str(written), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    for y, row in enumerate(rows):
        sheet.write_row(y, 0, row)
    workbook.close()
    return time.perf_counter() - started, len(rows)


@dataclass
class XlsxResult:
    rows: int
    ours: list[float]
    floor: list[float]


def compare_xlsx(rows: int, repeat: int, folder: Path) -> XlsxResult:
    """The XLSX dry run and the floor, alternately, `repeat` times each."""
    contacts = data.ensure(folder / f"contacts-{rows}.xlsx", rows)
    runs = folder / "runs"
    campaign = data.write_campaign(runs, f"xlsx-{rows}", contacts, runs / f"xlsx-{rows}.xlsx")
    result = XlsxResult(rows, [], [])
    for _ in range(repeat):
        seconds, plan = dry_run(campaign)
        _check(plan, rows)
        result.ours.append(seconds)
        del plan
        seconds, read = floor(contacts, runs / f"floor-{rows}.xlsx")
        if read != rows + 1:
            raise RuntimeError(f"the floor read {read} rows of {rows + 1}")
        result.floor.append(seconds)
    return result


def _check(plan: Plan, rows: int) -> None:
    """The dry run really did the work: every row there, nearly all of them ready."""
    ready = sum(row.status is Status.READY for row in plan.rows)
    if len(plan.rows) != rows or ready < 0.9 * rows:
        raise RuntimeError(f"the dry run gave {len(plan.rows)} rows, {ready} ready, of {rows}")


@dataclass(frozen=True)
class ChildRun:
    """One dry run in a child process."""

    seconds: float
    peak_mb: float
    cpu_seconds: float


# The send windows' cost: a window every row must be located for, against no window and no rules.
WINDOWS_ON = {"send_window": {"hours": "09:00-20:00"}}
WINDOWS_OFF = {"country_rules": False}


def csv_dry_run(rows: int, folder: Path, name: str = "csv", **extra: object) -> ChildRun:
    """`wooxy-bulk run X --dry-run --quiet` on a `rows`-row CSV, XLSX results (the default);
    `extra` campaign keys."""
    contacts = data.ensure(folder / f"contacts-{rows}.csv", rows)
    runs = folder / "runs"
    campaign = data.write_campaign(
        runs, f"{name}-{rows}", contacts, runs / f"{name}-{rows}.xlsx", **extra
    )
    command = [sys.executable, "-m", "wooxy_bulk", "run", str(campaign), "--dry-run", "--quiet"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOOXY_")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak memory and CPU time
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if code != 0 or f"Rows read:       {rows}\n" not in out.read().decode():
            raise RuntimeError(f"the dry run failed ({code}): {err.read().decode()[-500:]}")
    return ChildRun(seconds, _max_rss_mb(usage.ru_maxrss), usage.ru_utime + usage.ru_stime)


def compare_windows(rows: int, repeat: int, folder: Path) -> tuple[list[float], list[float]]:
    """The CSV dry run with a send window and without any window or rule, alternately: seconds."""
    on: list[float] = []
    off: list[float] = []
    for _ in range(repeat):
        on.append(csv_dry_run(rows, folder, "windows-on", **WINDOWS_ON).seconds)
        off.append(csv_dry_run(rows, folder, "windows-off", **WINDOWS_OFF).seconds)
    return on, off


def _max_rss_mb(ru_maxrss: int) -> float:
    """ru_maxrss is in KiB on Linux, in bytes on macOS."""
    return ru_maxrss / (1 << 20) if sys.platform == "darwin" else ru_maxrss / 1024
