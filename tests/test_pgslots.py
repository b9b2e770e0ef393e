"""The account's request slots in PostgreSQL: never more than 10 in flight across processes,
and a killed process's slots free themselves."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import signal
import time

import pytest

from wooxy_bulk.ledger.common import LedgerError
from wooxy_bulk.ledger.pgslots import PostgresSlots, account_id

ACCOUNT = account_id("the-key", "https://api.wooxy.com:443")


def _busy(url: str, account: int, state, lock, rounds: int) -> None:
    """Ten workers, each taking a slot `rounds` times and counting those in flight meanwhile."""

    async def worker(slots: PostgresSlots) -> None:
        for _ in range(rounds):
            async with slots.slot():
                with lock:
                    state[0] += 1
                    state[1] = max(state[1], state[0])
                await asyncio.sleep(0.02)
                with lock:
                    state[0] -= 1

    async def main() -> None:
        slots = PostgresSlots(url, account)
        await asyncio.gather(*(worker(slots) for _ in range(10)))
        await slots.aclose()

    asyncio.run(main())


def test_three_processes_share_ten_slots(postgres_url: str) -> None:
    """Three processes of ten workers on one account: at most 10 in flight, and the 10 used."""
    context = multiprocessing.get_context("spawn")
    lock = context.Lock()
    state = context.Array("i", [0, 0], lock=False)  # in flight now, most ever
    procs = [
        context.Process(target=_busy, args=(postgres_url, ACCOUNT, state, lock, 15))
        for _ in range(3)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    assert 9 <= state[1] <= 10  # never more than 10; (nearly) all of them used


def test_other_accounts_have_their_own_slots(postgres_url: str) -> None:
    """Ten slots held on one key leave another key's ten free."""

    async def main() -> None:
        one = PostgresSlots(postgres_url, ACCOUNT)
        other = PostgresSlots(postgres_url, account_id("other-key", "https://api.wooxy.com:443"))
        held = [await one.acquire() for _ in range(10)]
        assert sorted(held) == list(range(10))
        assert sorted([await other.acquire() for _ in range(10)]) == list(range(10))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(one.acquire(), 0.2)
        await one.release(held[3])
        assert await asyncio.wait_for(one.acquire(), 2) == held[3]
        await one.aclose()
        await other.aclose()

    asyncio.run(main())


def _hold_all(url: str, account: int, ready) -> None:
    async def main() -> None:
        slots = PostgresSlots(url, account)
        for _ in range(10):
            await slots.acquire()
        ready.set()
        await asyncio.sleep(600)

    asyncio.run(main())


def test_a_killed_process_frees_its_slots(postgres_url: str) -> None:
    """A process killed (SIGKILL) while holding all ten slots: they are free again at once."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    proc = context.Process(target=_hold_all, args=(postgres_url, ACCOUNT, ready))
    proc.start()
    assert ready.wait(60)

    async def take_all(timeout: float) -> list[int]:
        slots = PostgresSlots(postgres_url, ACCOUNT)
        try:
            return [await asyncio.wait_for(slots.acquire(), timeout) for _ in range(10)]
        finally:
            await slots.aclose()

    with pytest.raises(TimeoutError):
        asyncio.run(take_all(0.3))
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    started = time.monotonic()
    assert sorted(asyncio.run(take_all(10))) == list(range(10))
    assert time.monotonic() - started < 5


def test_a_lost_database_is_a_ledger_error() -> None:
    """No server: a LedgerError that names the ledger, never the password."""
    slots = PostgresSlots(
        "postgresql://u:s3cret@127.0.0.1:9/db", ACCOUNT, where="postgresql://u@127.0.0.1:9/db"
    )
    where = re.escape("postgresql://u@127.0.0.1:9/db: request slots")
    with pytest.raises(LedgerError, match=where) as e:
        asyncio.run(slots.acquire())
    assert "s3cret" not in str(e.value)
