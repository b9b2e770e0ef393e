"""Delivery status: every sent message's status asked of ``/v3/sms/info`` and kept in the journal.

The journal keeps the API's own word (``new``, ``delivered``, ``failed``, any other word the
API may use, or ``not_found`` for an id it answers with null); `label` turns it into the results
sheet's ``delivery`` column: ``pending`` for ``new``, ``pending (word)`` for a word the
documentation does not list. ``delivered`` and ``failed`` are final and never asked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .plan.rows import PlanRow, Status
from .send.api import Outcome, classify
from .send.https import PostError, Reply
from .send.journal import Journal
from .send.sender import End, SendPolicy, run_workers
from .send.slots import Slots

NEW, DELIVERED, FAILED, NOT_FOUND = "new", "delivered", "failed", "not_found"
FINAL = frozenset({DELIVERED, FAILED})
PENDING = "pending"
NOT_CHECKED = "not checked"  # a sent row never asked, in counts
_ORDER = {DELIVERED: 0, FAILED: 1, PENDING: 2, NOT_FOUND: 4, NOT_CHECKED: 5}  # others: 3


def label(word: str) -> str:
    """The results sheet's ``delivery`` for the journal's word ('' when never asked)."""
    if not word or word in FINAL or word == NOT_FOUND:
        return word
    return PENDING if word == NEW else f"{PENDING} ({word})"


def counts(rows: Iterable[PlanRow]) -> list[tuple[str, int]]:
    """The sent rows by their ``delivery`` label (``not checked`` when never asked): delivered,
    failed, pending, pending (word)…, not_found, not checked."""
    found = Counter(label(r.delivery) or NOT_CHECKED for r in rows if r.status is Status.SENT)
    order = sorted(found, key=lambda word: (_ORDER.get(word, 3), word))
    return [(word, found[word]) for word in order]


def is_pending(word: str) -> bool:
    """Whether a status may still change: asked, and neither final nor unknown to the API."""
    return bool(word) and word not in FINAL and word != NOT_FOUND


# --- asking the API ---------------------------------------------------------------------------

INFO_PATH = "/sms/info"
MAX_IDS = 100  # the API's limit of ids a request
_NOT_FOUND_TEXT = re.compile(r"SMS (\S+) not found\W*", re.IGNORECASE)


class InfoApi(Protocol):
    """What the check needs of the API client (`api.Api`): JSON posted, texts redacted."""

    async def post(self, path: str, payload: Mapping[str, Any]) -> Reply: ...

    def redact(self, text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class InfoAnswer:
    """One ``/v3/sms/info`` answer: the words of the ids it answered, or why it did not."""

    outcome: Outcome  # SENT (answered), TRANSIENT (ask again) or FATAL (stop the check)
    statuses: dict[str, str] = field(default_factory=dict)
    error: str = ""
    retry_after: float | None = None


def read_info(reply: Reply, asked: Sequence[str], redact: Callable[[str], str]) -> InfoAnswer:
    """Classify an answer to ``/v3/sms/info`` for the ids `asked`.

    ``result: true`` is handled per id: an object's status word, ``not_found`` for null or for
    an id named by "SMS <id> not found"; an id the answer leaves out is asked again later. Other
    answers are classified as for a send; since asking is harmless to repeat, an answer that is
    not the API's JSON is asked again, and an error of the method itself (its ids) stops it.
    """
    status, content, headers = reply
    payload = json_object(content)
    data = payload.get("data") if payload is not None else None
    if payload is not None and payload.get("result") is True and isinstance(data, dict):
        missing = {m.group(1) for t in _texts(payload) if (m := _NOT_FOUND_TEXT.fullmatch(t))}
        statuses = {}
        for sms_id in asked:
            word = _word(data[sms_id]) if sms_id in data else None
            if word is None and (sms_id in missing or (sms_id in data and data[sms_id] is None)):
                word = NOT_FOUND
            if word is not None:
                statuses[sms_id] = word
        return InfoAnswer(Outcome.SENT, statuses)
    answer = classify(status, content, headers, redact)
    if payload is not None and payload.get("result") is True:
        error = f"HTTP {status}: an answer with result true but no data"
        return InfoAnswer(Outcome.TRANSIENT, error=error)
    outcome = {Outcome.FATAL: Outcome.FATAL, Outcome.FAILED: Outcome.FATAL}.get(
        answer.outcome, Outcome.TRANSIENT
    )
    return InfoAnswer(outcome, error=answer.error, retry_after=answer.retry_after)


def _word(item: object) -> str | None:
    """An answer object's status word: the documented ones in lower case, others as given."""
    if not isinstance(item, dict) or not isinstance(item.get("status"), str):
        return None
    word = " ".join(item["status"].split())
    if not word:
        return None
    return word.lower() if word.lower() in (NEW, DELIVERED, FAILED) else word


def json_object(content: bytes) -> dict[str, Any] | None:
    """The JSON object of an answer's body, or None."""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _texts(payload: dict[str, Any]) -> list[str]:
    errors = payload.get("errors")
    return [e for e in errors if isinstance(e, str)] if isinstance(errors, list) else []


@dataclass
class CheckReport:
    """How a status check ended, and what it asked."""

    end: End = End.FINISHED
    reason: str = ""
    requests: int = 0  # answered requests
    answered: int = 0  # ids given a status
    gave_up: int = 0  # batches still unanswered after every attempt
    rounds: int = 0
    last_error: str = ""


Record = Callable[[dict[str, str]], None]


class _Check:
    """One round: the ids in batches of MAX_IDS, `policy.concurrency` workers, each request
    holding one of the account's slots."""

    def __init__(
        self,
        ids: Sequence[str],
        api: InfoApi,
        policy: SendPolicy,
        record: Record,
        slots: Slots | None,
        stop: asyncio.Event,
        report: CheckReport,
    ) -> None:
        self.batches = iter([ids[i : i + MAX_IDS] for i in range(0, len(ids), MAX_IDS)])
        self.api, self.policy, self.record, self.slots = api, policy, record, slots
        self.stop, self.report = stop, report
        self.streak = 0

    def halted(self) -> bool:
        return self.stop.is_set() or self.report.end is End.STOPPED

    async def worker(self) -> None:
        while not self.halted() and (batch := next(self.batches, None)) is not None:
            await self.ask(batch)

    async def ask(self, batch: Sequence[str]) -> None:
        for attempt in range(1, self.policy.max_attempts + 1):
            answer = await self._post(batch)
            if answer.outcome is Outcome.SENT:
                self.streak = 0
                self.report.requests += 1
                self.report.answered += len(answer.statuses)
                self.record(answer.statuses)
                return
            if answer.outcome is Outcome.FATAL:
                return self._halt(answer.error)
            self.report.last_error = answer.error
            if attempt == self.policy.max_attempts or not await self._backoff(attempt, answer):
                break
        if not self.halted():
            self.report.gave_up += 1
            self.streak += 1
            if self.streak >= self.policy.max_failures_in_a_row:
                self._halt(
                    f"{self.streak} requests in a row went unanswered; the last: "
                    f"{self.report.last_error}"
                )

    async def _post(self, batch: Sequence[str]) -> InfoAnswer:
        slot = self.slots.slot() if self.slots is not None else contextlib.nullcontext()
        async with slot:
            try:
                reply = await self.api.post(INFO_PATH, {"ids": list(batch)})
            except PostError as exc:
                outcome = Outcome.FATAL if exc.fatal else Outcome.TRANSIENT
                return InfoAnswer(outcome, error=str(exc))
        return read_info(reply, batch, self.api.redact)

    async def _backoff(self, attempt: int, answer: InfoAnswer) -> bool:
        """Wait before the next attempt; False if the check was stopped meanwhile."""
        p = self.policy
        delay = min(p.backoff_cap_s, p.backoff_base_s * 2 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.5)
        if answer.retry_after is not None:
            delay = max(delay, min(answer.retry_after, p.retry_after_cap_s))
        return not await _sleep(self.stop, delay) and not self.halted()

    def _halt(self, reason: str) -> None:
        if self.report.end is not End.STOPPED:
            self.report.end, self.report.reason = End.STOPPED, reason


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless `stop` is set first; whether it was."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def to_ask(words: Mapping[str, str]) -> list[str]:
    """The ids whose status is not final (never asked, new, another word, or not found)."""
    return [sms_id for sms_id, word in words.items() if word not in FINAL]


async def check_deliveries(
    words: dict[str, str],
    api: InfoApi,
    policy: SendPolicy,
    *,
    record: Record,
    slots: Slots | None = None,
    stop: asyncio.Event | None = None,
    watch: Watch | None = None,
    on_round: Callable[[int], None] = lambda ids: None,
) -> CheckReport:
    """Ask the status of every id of `words` (sms_id → word so far) that is not final.

    Each answered batch goes to `record` at once (so an interrupted check keeps it) and into
    `words`. With `watch`, asks again every `watch.interval_s` until nothing is pending or
    `watch.timeout_s` has passed. Setting `stop` stops starting requests.
    """
    stop = stop or asyncio.Event()
    report = CheckReport()

    def keep(statuses: dict[str, str]) -> None:
        words.update(statuses)
        record(statuses)

    started = watch.clock() if watch else 0.0
    while True:
        ids = to_ask(words)
        on_round(len(ids))
        report.rounds += 1
        run = _Check(ids, api, policy, keep, slots, stop, report)
        await run_workers(run.worker, policy.concurrency)
        if stop.is_set():
            report.end = End.INTERRUPTED
        if report.end is not End.FINISHED or watch is None:
            return report
        if not any(is_pending(w) or not w for w in words.values()):
            return report
        if watch.clock() - started + watch.interval_s > watch.timeout_s:
            return report
        if await _sleep(stop, watch.interval_s):
            report.end = End.INTERRUPTED
            return report


@dataclass(frozen=True)
class Watch:
    """`--watch`: ask again every `interval_s` until nothing is pending or `timeout_s` passed."""

    interval_s: float = 60.0
    timeout_s: float = 3600.0
    clock: Callable[[], float] = time.monotonic


# --- the campaign's rows ----------------------------------------------------------------------


def sent_words(rows: Iterable[PlanRow]) -> tuple[dict[str, str], dict[str, PlanRow]]:
    """The sent rows' ids with their delivery word so far, and each id's row."""
    by_id = {r.sms_id: r for r in rows if r.status is Status.SENT and r.sms_id}
    return {i: r.delivery for i, r in by_id.items()}, by_id


def recorder(
    journal: Journal,
    by_id: Mapping[str, PlanRow],
    now: Callable[[], datetime],
    on_batch: Callable[[int], None] = lambda count: None,
) -> Record:
    """A `Record` that commits each answered batch to the journal and to its rows, stamped with
    `now()` (UTC) as ``delivery_checked_at``."""

    def record(statuses: dict[str, str]) -> None:
        checked_at = now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = [(by_id[i], word) for i, word in statuses.items() if i in by_id]
        journal.record_deliveries(((row.phone, word) for row, word in rows), checked_at)
        for row, word in rows:
            row.delivery, row.delivery_checked_at = word, checked_at
        on_batch(len(statuses))

    return record


def figures(words: Mapping[str, str]) -> dict[str, int]:
    """Counts for a progress display: delivered, failed, pending, not_found (those above 0)."""
    counts = {DELIVERED: 0, FAILED: 0, PENDING: 0, NOT_FOUND: 0}
    for word in words.values():
        if word:
            counts[word if word in counts else PENDING] += 1
    return {name: n for name, n in counts.items() if n}
