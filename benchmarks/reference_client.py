"""The yardstick: what a user would write by hand. Ten aiohttp workers, nothing else.

No journal, no progress, no retries, no classification beyond reading the JSON answer. It sends
the same body as wooxy-bulk does (domain, phoneNumber, fromName, text, tags).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence

import aiohttp


def open_session(workers: int = 10) -> aiohttp.ClientSession:
    """A session with at most `workers` connections (call inside the event loop)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers))


async def send_all(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    messages: Iterable[tuple[str, str]],
    *,
    domain: str,
    from_name: str,
    tags: Sequence[str],
    workers: int = 10,
) -> int:
    """POST each (phone, text) to `url` from `workers` workers; return how many were accepted."""
    pending: Iterator[tuple[str, str]] = iter(messages)
    headers = {"Access-Token": token}
    accepted = 0

    async def worker() -> None:
        nonlocal accepted
        for phone, text in pending:
            body = {
                "domain": domain,
                "phoneNumber": phone,
                "fromName": from_name,
                "text": text,
                "tags": list(tags),
            }
            async with session.post(url, json=body, headers=headers) as response:
                answer = await response.json()
            accepted += answer.get("result") is True

    await asyncio.gather(*(worker() for _ in range(workers)))
    return accepted
