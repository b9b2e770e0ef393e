"""Status check rate: `wooxy-bulk status`'s path (check_deliveries, a real journal, the account's
request slots, the client) against the lean server, next to the physical limit of the API's rules.

The limit: ids / 100 a request × latency / 10 requests in flight. Only the check is timed; the
journal of sent messages is written before.
"""

from __future__ import annotations

import gc
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wooxy_bulk.delivery import MAX_IDS, check_deliveries, recorder, sent_words
from wooxy_bulk.plan.rows import PlanRow, Status
from wooxy_bulk.send.api import Api
from wooxy_bulk.send.https import open_post
from wooxy_bulk.send.journal import Journal
from wooxy_bulk.send.sender import SendPolicy, run_event_loop
from wooxy_bulk.send.slots import LocalSlots

from .sending import CONCURRENCY, TOKEN, lean_server


@dataclass(frozen=True)
class StatusResult:
    """One timed status check of `ids` sent messages at `latency_ms`."""

    ids: int
    latency_ms: float
    seconds: float
    cpu_seconds: float
    peak_concurrency: int

    @property
    def limit_s(self) -> float:
        """The fastest the API's rules allow: batches of 100, 10 at once, each one latency."""
        return self.ids / MAX_IDS * (self.latency_ms / 1000) / CONCURRENCY


def sent_rows(count: int, journal: Journal) -> list[PlanRow]:
    """`count` rows journaled as sent, each with its sms_id."""
    rows = []
    for i in range(count):
        phone, sms_id = f"+4474{i:08d}", f"{0x5D91513FD132D5F462796870 + i:024x}"
        rows.append(PlanRow(i + 2, (phone,), Status.SENT, phone=phone, text="Hi", sms_id=sms_id))
    journal.record_sent((r.phone, r.row, r.sms_id, r.text) for r in rows)
    return rows


async def _check(
    url: str, rows: list[PlanRow], journal: Journal, slots: LocalSlots
) -> tuple[float, float]:
    words, by_id = sent_words(rows)
    record = recorder(journal, by_id, lambda: datetime.now(UTC))
    async with open_post(timeout_s=30, concurrency=CONCURRENCY) as post:
        api = Api(post, url=url, token=TOKEN)
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        policy = SendPolicy(CONCURRENCY)
        report = await check_deliveries(words, api, policy, record=record, slots=slots)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if report.answered != len(rows) or set(words.values()) != {"delivered"}:
        raise RuntimeError(f"only {report.answered} of {len(rows)} statuses came back")
    return seconds, cpu


def measure(count: int, latency_ms: float, repeat: int, folder: Path) -> list[StatusResult]:
    """`repeat` status checks of `count` sent messages against one lean server."""
    results = []
    with lean_server(latency_ms) as (url, peak):
        for _ in range(repeat):
            with (
                tempfile.TemporaryDirectory(dir=folder) as scratch,
                Journal(Path(scratch) / "bench.journal.sqlite", "bench") as journal,
                closing(LocalSlots.for_account(TOKEN, url, root=Path(scratch) / "slots")) as slots,
            ):
                rows = sent_rows(count, journal)
                seconds, cpu = run_event_loop(_check(url, rows, journal, slots))
            results.append(StatusResult(count, latency_ms, seconds, cpu, 0))
    top = max(peak, default=0)
    return [StatusResult(r.ids, r.latency_ms, r.seconds, r.cpu_seconds, top) for r in results]
