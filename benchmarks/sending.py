"""Send rate: wooxy-bulk's real send path against the reference client, on the same lean server.

Both run in this process, alternately, against one server process per latency. Only the sending
phase is timed (wall clock and this process's CPU time); clients and journal are set up before.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wooxy_bulk.cli.progress import Progress
from wooxy_bulk.plan.rows import PlanRow, Status
from wooxy_bulk.send.api import WooxyClient
from wooxy_bulk.send.https import open_post
from wooxy_bulk.send.journal import Journal
from wooxy_bulk.send.sender import SendPolicy, run_event_loop, send_rows
from wooxy_bulk.send.slots import LocalSlots

from . import reference_client
from .data import contact_rows

CONCURRENCY = 10
DOMAIN, FROM_NAME, TAGS, TOKEN = "shop.example.com", "ShopName", ("benchmark",), "bench-token"


@dataclass(frozen=True)
class Sample:
    """One timed sending phase."""

    messages: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_ms_per_message(self) -> float:
        return 1000 * self.cpu_seconds / self.messages


@contextmanager
def lean_server(latency_ms: float) -> Iterator[tuple[str, list[int]]]:
    """Start benchmarks.server in its own process; yield its URL and, after it stops, its peak
    concurrency (in the list)."""
    command = [sys.executable, "-m", "benchmarks.server", "--latency-ms", str(latency_ms)]
    cwd = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, text=True)
    peak: list[int] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the lean server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[-1])}/v3", peak
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        peak.extend(int(x.split()[1]) for x in out.splitlines() if x.startswith("peak "))


def messages(count: int) -> list[tuple[str, str]]:
    """`count` (E.164 number, text) pairs, texts like the benchmark template renders."""
    return [
        (
            f"+4474{i:08d}",
            f"Hi {name or 'there'}! Spring sale: 20% off everything at our {city}"
            " store until Sunday. Reply STOP to opt out.",
        )
        for i, (_, name, city) in enumerate(contact_rows(count))
    ]


def _timed(accepted: int, started: float, cpu_started: float, expected: int) -> Sample:
    """The sample since `started`, once every message is known to have been accepted."""
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if accepted != expected:
        raise RuntimeError(f"only {accepted} of {expected} messages were accepted")
    return Sample(expected, seconds, cpu_seconds)


async def ours(url: str, batch: list[tuple[str, str]], folder: Path, **send: Any) -> Sample:
    """wooxy-bulk's send path as the CLI builds it: send_rows with a real journal, the account's
    request slots (the machine's lock files unless `send` gives others), WooxyClient over
    open_post (aiohttp), a progress counter; `send`: send_rows's other arguments (slots, ledger)."""
    rows = [
        PlanRow(i + 2, (phone,), Status.NOT_SENT, phone=phone, text=text, segments=1)
        for i, (phone, text) in enumerate(batch)
    ]
    policy = SendPolicy(concurrency=CONCURRENCY)
    with (
        tempfile.TemporaryDirectory(dir=folder) as scratch,
        Journal(Path(scratch) / "bench.journal.sqlite", "bench") as journal,
        closing(LocalSlots.for_account(TOKEN, url, root=Path(scratch) / "slots")) as slots,
    ):
        send.setdefault("slots", slots)
        async with open_post(timeout_s=30, concurrency=CONCURRENCY) as post:
            client = WooxyClient(
                post, url=url, token=TOKEN, domain=DOMAIN, from_name=FROM_NAME, tags=TAGS
            )
            progress = Progress(len(rows))
            gc.collect()
            started, cpu_started = time.perf_counter(), time.process_time()
            await send_rows(rows, client, journal, policy, on_row=progress, **send)
            return _timed(progress.sent, started, cpu_started, len(rows))


async def reference(url: str, batch: list[tuple[str, str]]) -> Sample:
    """The reference client: ten aiohttp workers."""
    async with reference_client.open_session(CONCURRENCY) as session:
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        accepted = await reference_client.send_all(
            session,
            url + "/sms/send",
            TOKEN,
            batch,
            domain=DOMAIN,
            from_name=FROM_NAME,
            tags=TAGS,
            workers=CONCURRENCY,
        )
        return _timed(accepted, started, cpu_started, len(batch))


@dataclass
class SendResult:
    """Alternate runs at one latency."""

    latency_ms: float
    ours: list[Sample]
    reference: list[Sample]
    peak_concurrency: int = 0


def compare(latency_ms: float, count: int, repeat: int, folder: Path) -> SendResult:
    """Run ours and the reference alternately `repeat` times each against one lean server."""
    batch = messages(count)
    result = SendResult(latency_ms, [], [])
    with lean_server(latency_ms) as (url, peak):
        for _ in range(repeat):
            result.ours.append(run_event_loop(ours(url, batch, folder)))  # as the CLI runs it
            result.reference.append(asyncio.run(reference(url, batch)))
    result.peak_concurrency = max(peak, default=0)
    return result
