"""What one synced journal commit costs on the benchmarks' disk, recorded beside the send rates.

Each request waits for its in-flight record's sync before it goes out, so at 20 ms the send rate
moves with this figure from one machine, or one day, to the next. Each commit is the journal's
own (`Journal.record_sent` of one message: WAL, ``synchronous=FULL``), to a fresh journal in the
folder the send benchmarks use.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from wooxy_bulk.send.journal import Journal


@dataclass(frozen=True)
class Syncs:
    median_us: float
    p90_us: float


def synced_commits(folder: Path, commits: int, gap_s: float = 0.0) -> Syncs:
    """Time `commits` journal commits of one message each, `gap_s` apart (0: back to back)."""
    times = []
    with (
        tempfile.TemporaryDirectory(dir=folder) as scratch,
        Journal(Path(scratch) / "disk.journal.sqlite", "disk") as journal,
    ):
        for n in range(commits):
            message = (f"+4479111{n % 100_000:05d}", n + 2, f"{n:024x}", "Hi")
            if gap_s:
                time.sleep(gap_s)
            started = time.perf_counter()
            journal.record_sent([message])
            times.append(time.perf_counter() - started)
    deciles = statistics.quantiles(times, n=10)
    return Syncs(statistics.median(times) * 1e6, deciles[-1] * 1e6)
