"""Request slots: at most 10 requests in flight per API account, across every process.

The API allows 10 requests at once per account. Two campaigns run at once on one machine must
share those 10, so a request holds a slot while it is in flight: ``async with slots.slot(): ...``.
`LocalSlots` makes each slot a lock file (an exclusive ``flock``) in a per-user folder named by a
hash of the API key and origin (never the key itself); the operating system releases the locks of
a process that dies, however it dies. Anything with the same `slot()` method can stand in (one for
several machines, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from ..errors import located
from .scope import origin

API_SLOTS = 10  # the API's limit of requests in flight per account
POLL_S = 0.02  # how often a waiting request looks for any free slot besides the one it waits on


class Slots(Protocol):
    """What the sender needs: a slot held for the time of one request."""

    def slot(self) -> AbstractAsyncContextManager[None]: ...


def default_root() -> Path:
    """The per-user folder of every account's slots (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "wooxy-bulk" / "slots"


def account_folder(key: str, api_url: str, root: Path | None = None) -> Path:
    """The folder of one account's slots: named by a hash of the key and the API's origin."""
    digest = hashlib.sha256(f"wooxy-bulk slots\0{origin(api_url)}\0{key}".encode()).hexdigest()
    return (root or default_root()) / digest[:32]


class LocalSlots:
    """`count` lock files shared by every process of this user on this machine.

    A free slot is taken at once with a non-blocking lock. When every slot is taken, a waiting
    request blocks in a thread of its own on one slot that this process does not hold, so it gets
    that slot as soon as the other process lets it go (the kernel hands it over; polling would
    lose the race to a process that takes its slots back at once).
    """

    def __init__(self, folder: Path, count: int = API_SLOTS) -> None:
        self._paths = [folder / f"slot-{i:02d}.lock" for i in range(count)]
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fds = [_open(p) for p in self._paths]
        except OSError as exc:
            raise located(
                folder,
                f"cannot use the request slots folder ({exc.strerror});"
                " point XDG_CACHE_HOME at a folder you can write",
            ) from None
        self._held: set[int] = set()  # slots this process holds
        self._awaited: set[int] = set()  # slots a thread of this process is blocked on
        self._local_waiters: deque[asyncio.Future[None]] = deque()

    @classmethod
    def for_account(cls, key: str, api_url: str, root: Path | None = None) -> LocalSlots:
        return cls(account_folder(key, api_url, root))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        index, fd = await self.acquire()
        try:
            yield
        finally:
            self.release(index, fd)

    async def acquire(self) -> tuple[int, int]:
        """Take a slot, waiting for one if need be; returns (slot, descriptor) for release()."""
        while True:
            if (taken := self._take_free()) is not None:
                return taken
            others = [i for i in range(len(self._fds)) if i not in self._held | self._awaited]
            if not others:  # more requests in this process than slots: wait for one of ours
                waiter = asyncio.get_running_loop().create_future()
                self._local_waiters.append(waiter)
                await waiter
                continue
            return await self._wait_for(others[0])

    def _take_free(self) -> tuple[int, int] | None:
        for index, fd in enumerate(self._fds):
            if index not in self._held and _try_lock(fd):
                self._held.add(index)
                return index, fd
        return None

    async def _wait_for(self, index: int) -> tuple[int, int]:
        """Block on slot `index`, looking every POLL_S for any other slot that came free."""
        self._awaited.add(index)
        blocked = _blocking_lock(self._paths[index])
        try:
            while True:
                done, _ = await asyncio.wait({blocked}, timeout=POLL_S)
                if done:
                    self._held.add(index)
                    return index, blocked.result()
                if (taken := self._take_free()) is not None:
                    _abandon(blocked)
                    return taken
        except BaseException:
            _abandon(blocked)
            raise
        finally:
            self._awaited.discard(index)

    def release(self, index: int, fd: int) -> None:
        """Let the slot go: to a waiting process, or to this one's next request."""
        fcntl.flock(fd, fcntl.LOCK_UN)
        self._held.discard(index)
        if fd != self._fds[index]:  # a descriptor a waiting thread opened
            os.close(fd)
        while self._local_waiters:
            waiter = self._local_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    async def aclose(self) -> None:
        """Close the lock files (as `PostgresSlots.aclose` closes its connection)."""
        self.close()


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _blocking_lock(path: Path) -> asyncio.Future[int]:
    """A future of a descriptor of `path` locked by a daemon thread that blocks until it is."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()

    def deliver(fd: int) -> None:
        if future.cancelled():
            os.close(fd)  # closing the descriptor releases its lock
        else:
            future.set_result(fd)

    def block() -> None:
        fd = _open(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            loop.call_soon_threadsafe(deliver, fd)
        except RuntimeError:  # the event loop is closed: nobody wants the slot any more
            os.close(fd)

    threading.Thread(target=block, name="wooxy-bulk slot", daemon=True).start()
    return future


def _abandon(blocked: asyncio.Future[int]) -> None:
    """Give up a blocked lock: let it go at once if it came, else as soon as it comes (a thread
    cannot be cancelled)."""
    if blocked.done() and not blocked.cancelled():
        os.close(blocked.result())
    else:
        blocked.cancel()
