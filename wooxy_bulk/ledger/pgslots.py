"""The account's request slots in PostgreSQL: the 10 requests the API allows, shared by every
run on one API key on every machine that uses the ledger's database.

Slot i of an account is the session-level advisory lock (account, i), where `account` is 32 bits
of a SHA-256 of the API's origin and the key (never the key itself). A request holds its slot
while in flight; the database drops every lock of a session whose connection dies, so the
slots of a killed or crashed run free themselves as soon as its connection is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from .common import LedgerError

API_SLOTS = 10  # the API's limit of requests in flight per account
CONNECT_TIMEOUT_S = 10
_WAIT_FIRST_S, _WAIT_MAX_S = 0.002, 0.02
LEASE_S = 0.5  # how long a worker keeps its slot from one request to the next
IDLE_S = 0.02  # a slot no request has used for this long is let go

# The first free slot of those listed; LIMIT 1 stops the scan at the first lock taken.
_TAKE = "SELECT s FROM unnest(%s::int[]) AS s WHERE pg_try_advisory_lock(%s, s) LIMIT 1"
_GIVE_BACK = "SELECT pg_advisory_unlock(%s, %s)"


def account_id(key: str, origin: str) -> int:
    """The advisory lock namespace of one API account (a signed 32-bit integer)."""
    digest = hashlib.sha256(f"wooxy-bulk slots\0{origin}\0{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


@dataclass
class _Lease:
    """A slot a worker (an asyncio task) keeps between its requests, for at most LEASE_S."""

    index: int
    taken: float
    used: float
    busy: bool = True


class PostgresSlots:
    """`count` slots of one account, taken with pg_try_advisory_lock on a connection of this
    process's own. A session takes an advisory lock it already holds again without waiting, so
    this process never asks for a slot it holds.

    Two round trips a request would cost more client CPU than the rest of the send path, so a
    worker keeps its slot from one request to its next (never two at once: one task makes one
    request at a time) for up to LEASE_S, then lets it go and pauses a moment, so that other
    runs polling for a slot get their turn. A slot left idle for IDLE_S (a worker waiting to
    retry, or done) is let go by a watchdog.
    """

    def __init__(
        self, url: str, account: int, scrub: Any = str, count: int = API_SLOTS, where: str = ""
    ) -> None:
        self.url, self.account, self.count = url, account, count
        self._scrub, self._where = scrub, where
        self._held: set[int] = set()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._guard: asyncio.Lock | None = None
        self._releases: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._leases: dict[asyncio.Task[Any] | None, _Lease] = {}
        self._pause_until: dict[asyncio.Task[Any] | None, float] = {}
        self._watchdog: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        worker = asyncio.current_task()
        lease = self._leases.get(worker)
        if lease is None:
            pause = self._pause_until.pop(worker, 0.0) - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            now = time.monotonic()
            lease = self._leases[worker] = _Lease(await self.acquire(), now, now)
            self._watch()
        lease.busy = True
        try:
            yield
        finally:
            lease.busy, lease.used = False, time.monotonic()
            if lease.used - lease.taken >= LEASE_S:
                self._give_up(worker)
                self._pause_until[worker] = lease.used + random.uniform(0.005, 0.03)

    def _give_up(self, worker: asyncio.Task[Any] | None) -> None:
        lease = self._leases.pop(worker, None)
        if lease is not None:
            self._release_soon(lease.index)

    def _watch(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._let_idle_go())

    async def _let_idle_go(self) -> None:
        """Let go of the slots no request has used for IDLE_S (their worker waits or is done)."""
        while self._leases:
            await asyncio.sleep(IDLE_S / 2)
            now = time.monotonic()
            for worker, lease in list(self._leases.items()):
                done = worker is not None and worker.done()
                if not lease.busy and (done or now - lease.used >= IDLE_S):
                    self._give_up(worker)

    def _release_soon(self, index: int) -> None:
        """Let the slot go without making the request's worker wait for the round trip (it
        stays out of this process's free slots until the database has it back)."""
        task = asyncio.get_running_loop().create_task(self.release(index))
        self._releases.add(task)
        task.add_done_callback(self._released)

    def _released(self, task: asyncio.Task[None]) -> None:
        self._releases.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()

    async def acquire(self) -> int:
        """Take a free slot, polling (with growing, jittered pauses) while all are taken."""
        wait = _WAIT_FIRST_S
        while True:
            if self._failure is not None:
                raise self._failure
            row = await self._query(_TAKE, lambda: (self._free(), self.account))
            if row is not None:
                self._held.add(row[0])
                return int(row[0])
            await asyncio.sleep(wait * random.uniform(0.5, 1.5))
            wait = min(wait * 2, _WAIT_MAX_S)

    def _free(self) -> list[int]:
        return [i for i in range(self.count) if i not in self._held]

    async def release(self, index: int) -> None:
        try:
            await self._query(_GIVE_BACK, lambda: (self.account, index))
        finally:
            self._held.discard(index)

    async def _query(
        self, query: str, params: Callable[[], tuple[Any, ...]]
    ) -> tuple[Any, ...] | None:
        """Run one query on the connection, its parameters taken once the connection is ours
        (the slots held may change while a request waits for it)."""
        if self._guard is None:
            self._guard = asyncio.Lock()
        try:
            async with self._guard:
                if self._conn is None:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                    )
                cursor = await self._conn.execute(query, params(), prepare=True)
                return await cursor.fetchone()
        except psycopg.Error as exc:
            why = self._scrub(" ".join(str(exc).split()))
            raise LedgerError(f"ledger {self._where}: request slots: {why}") from None

    async def aclose(self) -> None:
        """Close the connection: every slot still held goes with it."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._leases.clear()
        await asyncio.gather(*self._releases, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def close(self) -> None:
        """For callers without a loop at hand: the connection closes with the process."""
