"""The ledger's cost, on SQLite and on a throw-away PostgreSQL server.

- The send rate at 20 ms with the ledger (a frequency cap set, so every message is reserved in a
  transaction before its request and confirmed after; with PostgreSQL, the account's request
  slots come from the database too) against the same send path without it (the machine's lock
  file slots), alternately against one lean server.
- The plan's check of N rows against a ledger of N past sends (half the rows' numbers at the cap):
  opening the ledger and `ledger.check.suppress`, what the ledger adds to a dry run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from wooxy_bulk.ledger import Cap, open_ledger
from wooxy_bulk.ledger.check import suppress
from wooxy_bulk.ledger.pgslots import PostgresSlots, account_id
from wooxy_bulk.plan.rows import PlanRow, Status
from wooxy_bulk.send.sender import run_event_loop
from wooxy_bulk.send.slots import LocalSlots

from . import postgres, sending

LATENCY_MS = 20.0
SCOPE = "bench"
BACKENDS = ("sqlite", "postgresql")


@dataclass
class LedgerResult:
    """Send samples by variant ("without" the ledger, "sqlite", "postgresql"), and the check's
    seconds by backend."""

    sends: dict[str, list[sending.Sample]] = field(default_factory=dict)
    check_s: dict[str, float] = field(default_factory=dict)
    postgres_missing: str = ""


@contextmanager
def _server() -> Iterator[postgres.Server | None]:
    try:
        with postgres.throwaway_server() as server:
            yield server
    except postgres.Unavailable:
        yield None


def measure(messages: int, rows: int, repeat: int, folder: Path) -> LedgerResult:
    result = LedgerResult()
    with _server() as server:
        if server is None:
            result.postgres_missing = "no PostgreSQL server binaries"
        backends = [b for b in BACKENDS if b == "sqlite" or server is not None]
        batch = sending.messages(messages)
        with sending.lean_server(LATENCY_MS) as (url, _):
            for _ in range(repeat):
                for variant in ("without", *backends):
                    sample = _send(variant, url, batch, folder, server)
                    result.sends.setdefault(variant, []).append(sample)
        for backend in backends:
            result.check_s[backend] = _check(backend, rows, folder, server)
    return result


def _location(backend: str, scratch: Path, server: postgres.Server | None) -> str | Path:
    if backend == "sqlite":
        return scratch / "ledger.sqlite"
    assert server is not None
    return server.create()


def _send(
    variant: str,
    url: str,
    batch: list[tuple[str, str]],
    folder: Path,
    server: postgres.Server | None,
) -> sending.Sample:
    """One timed send of `batch`, through the ledger of `variant` (or none)."""
    with tempfile.TemporaryDirectory(dir=folder) as scratch, ExitStack() as stack:
        extra: dict[str, Any] = {}
        local = LocalSlots(Path(scratch) / "slots")
        stack.callback(local.close)
        extra["slots"] = local
        if variant != "without":
            ledger = open_ledger(_location(variant, Path(scratch), server))
            stack.callback(ledger.close)
            extra["ledger"] = ledger.for_sending(
                SCOPE, "bench", Cap(1000, 24), lambda: datetime.now(UTC)
            )
            if variant == "postgresql":
                extra["slots"] = PostgresSlots(
                    str(ledger.url),
                    account_id(sending.TOKEN, url),  # type: ignore[attr-defined]
                )

        async def run() -> sending.Sample:
            try:
                return await sending.ours(url, batch, folder, **extra)
            finally:
                if "ledger" in extra:
                    await extra["ledger"].aclose()
                if isinstance(extra["slots"], PostgresSlots):
                    await extra["slots"].aclose()

        return run_event_loop(run())


def _check(backend: str, rows: int, folder: Path, server: postgres.Server | None) -> float:
    """Seconds to open a ledger of `rows` past sends and check `rows` plan rows against it."""
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    sent = [f"+4474{i:08d}" for i in range(rows // 2)]  # two messages each: at a cap of 2
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        location = _location(backend, Path(scratch), server)
        _fill(location, sent, now)
        plan = [
            PlanRow(i + 2, (), Status.READY, phone=phone)
            for i, phone in enumerate(sent + [f"+4475{i:08d}" for i in range(rows - len(sent))])
        ]
        started = time.perf_counter()
        ledger = open_ledger(location)
        kept = suppress(plan, ledger, SCOPE, Cap(2, 24), now)
        seconds = time.perf_counter() - started
        ledger.close()
        if len(kept) != rows - len(sent):
            raise RuntimeError(f"the check kept {len(kept)} rows, not {rows - len(sent)}")
        return seconds


def _fill(location: str | Path, phones: list[str], now: datetime) -> None:
    """Two sends for each of `phones` within the last hours, written in bulk."""
    ledger = open_ledger(location)
    records = [
        (SCOPE, phone, "past", "sent", now - timedelta(hours=1 + k), f"{k}{i:023x}")
        for i, phone in enumerate(phones)
        for k in range(2)
    ]
    db: Any = ledger.db  # type: ignore[attr-defined]
    if isinstance(location, Path):
        rows = [(*r[:4], r[4].isoformat(timespec="microseconds"), r[5]) for r in records]
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO sends (scope, phone, campaign, state, sent_at, sms_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("COMMIT")
    else:
        columns = "scope, phone, campaign, state, sent_at, sms_id"
        with db.cursor().copy(f"COPY wooxy_bulk.sends ({columns}) FROM STDIN") as copy:
            for record in records:
                copy.write_row(record)
        db.execute("VACUUM ANALYZE wooxy_bulk.sends")
    ledger.close()
