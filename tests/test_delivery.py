"""Delivery status checks over loopback against the sandbox: batches, limits, answers, watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from wooxy_bulk.delivery import (
    CheckReport,
    Watch,
    check_deliveries,
    counts,
    label,
    read_info,
)
from wooxy_bulk.plan.rows import PlanRow, Status
from wooxy_bulk.sandbox import RunningSandbox, SandboxConfig, running_sandbox
from wooxy_bulk.send.api import Api, Outcome
from wooxy_bulk.send.https import open_post
from wooxy_bulk.send.sender import End, SendPolicy

TOKEN = "sandbox"
START = 1_764_547_200.0
FAST = SendPolicy(backoff_base_s=0.01, backoff_cap_s=0.05, retry_after_cap_s=0.05)


class Clock:
    """A settable clock (seconds)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def accept(box: RunningSandbox, count: int) -> list[str]:
    """`count` messages accepted by the sandbox (its own decision, without HTTP): their ids."""
    ids = []
    for n in range(count):
        body = {"domain": "shop.example.com", "phoneNumber": f"+4474001{n:05d}", "text": "Hi"}
        message = box.state.decide(TOKEN, json.dumps(body).encode())
        assert isinstance(message, dict)
        ids.append(message["sms_id"])
    return ids


def check(
    box: RunningSandbox,
    words: dict[str, str],
    *,
    token: str = TOKEN,
    policy: SendPolicy = FAST,
    watch: Watch | None = None,
    record: Callable[[dict[str, str]], None] = lambda statuses: None,
    on_round: Callable[[int], None] = lambda ids: None,
    stop: asyncio.Event | None = None,
) -> CheckReport:
    """check_deliveries over a real HTTP session to `box`."""

    async def run() -> CheckReport:
        async with open_post(timeout_s=10, concurrency=policy.concurrency) as post:
            api = Api(post, url=box.url, token=token)
            return await check_deliveries(
                words, api, policy, record=record, watch=watch, on_round=on_round, stop=stop
            )

    return asyncio.run(run())


def test_a_thousand_sent_messages_are_checked_in_ten_requests() -> None:
    """1,000 ids: 10 requests of 100, every status recorded once."""
    recorded: list[dict[str, str]] = []
    with running_sandbox(SandboxConfig(delivery_delay_s=0)) as box:
        words = dict.fromkeys(accept(box, 1000), "")
        report = check(box, words, record=recorded.append)
        stats = box.state.stats()
    assert stats["methods"]["sms/info"] == report.requests == 10
    assert stats["info_ids"] == {"asked": 1000, "largest": 100}
    assert sum(len(r) for r in recorded) == report.answered == 1000
    assert set(words.values()) == {"delivered"} and report.end is End.FINISHED


def test_at_most_a_hundred_ids_and_ten_requests_in_flight() -> None:
    """2,500 ids at 50 ms: the sandbox sees 100 ids at most a request and 10 in flight, no 429."""
    with running_sandbox(SandboxConfig(latency_ms=50)) as box:
        words = dict.fromkeys(accept(box, 2500), "")
        report = check(box, words)
        stats = box.state.stats()
    assert (stats["info_ids"]["largest"], stats["peak_concurrency"]) == (100, 10)
    assert (stats["throttled"], report.requests, report.end) == (0, 25, End.FINISHED)


def test_fewer_in_flight_with_a_lower_concurrency() -> None:
    """api.concurrency 3: never more than 3 requests at once."""
    with running_sandbox(SandboxConfig(latency_ms=30)) as box:
        words = dict.fromkeys(accept(box, 1000), "")
        check(box, words, policy=SendPolicy(concurrency=3))
        assert box.state.stats()["peak_concurrency"] == 3


def test_throttled_requests_are_retried() -> None:
    """A sandbox that allows 4 at once: the 429s are asked again and every id gets its status."""
    config = SandboxConfig(latency_ms=30, max_concurrency=4, delivery_delay_s=0)
    with running_sandbox(config) as box:
        words = dict.fromkeys(accept(box, 1500), "")
        report = check(box, words, policy=replace(FAST, max_attempts=10))
        stats = box.state.stats()
    assert stats["throttled"] > 0
    assert set(words.values()) == {"delivered"} and report.gave_up == 0


def test_a_partly_successful_answer_is_handled_per_id() -> None:
    """Unknown ids become not_found, known ones get their word, in one answer."""
    with running_sandbox(SandboxConfig(delivery_delay_s=0, delivery_fail_rate=1)) as box:
        known = accept(box, 2)
        words = {known[0]: "", "0" * 24: "", known[1]: "new", "f" * 24: ""}
        report = check(box, words)
    assert words == {
        known[0]: "failed",
        "0" * 24: "not_found",
        known[1]: "failed",
        "f" * 24: ("not_found"),
    }
    assert report.requests == 1


def test_an_unknown_status_word_is_kept_and_shown_as_pending() -> None:
    """A word the documentation does not list is kept as given, and labelled pending (word)."""
    with running_sandbox(SandboxConfig()) as box:
        [sms_id] = accept(box, 1)
        box.state.deliveries.set_status(sms_id, "EnRoute")
        words = {sms_id: ""}
        check(box, words)
    assert words == {sms_id: "EnRoute"} and label(words[sms_id]) == "pending (EnRoute)"


@pytest.mark.parametrize(
    ("word", "shown"),
    [
        ("", ""),
        ("new", "pending"),
        ("NEW", "pending"),
        ("delivered", "delivered"),
        ("failed", "failed"),
        ("not_found", "not_found"),
        ("queued", "pending (queued)"),
    ],
)
def test_labels(word: str, shown: str) -> None:
    """The results' delivery column for each journal word (documented words in any case)."""
    normalised = read_info((200, _answer(word), {}), ["a"], str).statuses.get("a", "")
    assert label(normalised if word not in ("", "not_found") else word) == shown


def _answer(word: str) -> bytes:
    return json.dumps({"result": True, "data": {"a": {"id": "a", "status": word}}}).encode()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("sandbox-badsecret", "access token check failed for key/secret 1/***"),
        ("nope-key", "no matches found for access token ***"),
        ("sandbox-disabled", "user 1 not enabled"),
    ],
)
def test_an_account_error_stops_the_check_with_the_key_redacted(token: str, reason: str) -> None:
    """An account error stops at once (no retries), with the API's text and the key as ***."""
    with running_sandbox(SandboxConfig()) as box:
        words = dict.fromkeys(accept(box, 350), "")
        report = check(box, words, token=token, policy=SendPolicy(concurrency=1))
        asked = box.state.stats()["methods"]["sms/info"]
    assert (report.end, report.reason, asked) == (End.STOPPED, reason, 1)
    assert set(words.values()) == {""}


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ((503, b'{"result": false, "errors": ["Publishing error"]}', {}), Outcome.TRANSIENT),
        ((500, b'{"result": false, "errors": ["Internal server error"]}', {}), Outcome.TRANSIENT),
        ((502, b"<html>Bad gateway</html>", {}), Outcome.TRANSIENT),
        ((200, b'{"result": true}', {}), Outcome.TRANSIENT),
        ((429, b"", {"retry-after": "3"}), Outcome.TRANSIENT),
        (
            (400, b'{"result": false, "errors": ["ids count must be less or equal"]}', {}),
            Outcome.FATAL,
        ),
        (
            (401, b'{"result": false, "errors": ["Invalid authorization token!"]}', {}),
            Outcome.FATAL,
        ),
    ],
)
def test_answers_that_are_not_statuses(reply: Any, outcome: Outcome) -> None:
    """Asking is harmless to repeat: odd answers are asked again; the API's refusals stop."""
    assert read_info(reply, ["a"], str).outcome is outcome


def test_ids_named_not_found_in_errors_only_are_not_found() -> None:
    """An id left out of data but named by "SMS <id> not found" is not_found; one left out of
    both is asked again later (no status)."""
    body = {"result": True, "data": {}, "errors": ["SMS a not found"]}
    answer = read_info((200, json.dumps(body).encode(), {}), ["a", "b"], str)
    assert answer.statuses == {"a": "not_found"}


def test_watch_asks_again_until_nothing_is_pending() -> None:
    """--watch: new at first, asked again after the interval, ends when all are final."""
    clock = Clock()
    config = SandboxConfig(delivery_delay_s=30, clock=clock)
    rounds: list[int] = []

    def next_round(ids: int) -> None:
        rounds.append(ids)
        clock.now += 20  # the sandbox's time moves on between rounds

    with running_sandbox(config) as box:
        ids = accept(box, 150)
        box.state.deliveries.set_status(ids[0], "delivered")  # final before the first round
        words = dict.fromkeys(ids, "")
        words[ids[0]] = "delivered"
        report = check(box, words, watch=Watch(interval_s=0.01), on_round=next_round)
    assert rounds == [149, 149]  # at 20 s all new; at 40 s all delivered; final ones not asked
    assert set(words.values()) == {"delivered"} and report.rounds == 2


def test_watch_gives_up_at_the_timeout() -> None:
    """--watch with statuses that stay pending ends once the timeout has passed."""
    ticks = iter(range(0, 1000, 10))  # the watch's clock: 10 s more each time it is read
    watch = Watch(interval_s=0.01, timeout_s=35, clock=lambda: float(next(ticks)))
    with running_sandbox(SandboxConfig(delivery_delay_s=3600)) as box:
        words = dict.fromkeys(accept(box, 5), "")
        report = check(box, words, watch=watch)
    # started at 0; rounds end at 10, 20, 30 (the next would start before 35) and 40 (past it)
    assert (report.rounds, report.end) == (4, End.FINISHED) and set(words.values()) == {"new"}


def test_an_interrupted_check_keeps_what_was_answered_and_resumes() -> None:
    """Stopped after the first batch: that batch is kept; the next check asks only the rest."""
    with running_sandbox(SandboxConfig(delivery_delay_s=0)) as box:
        words = dict.fromkeys(accept(box, 500), "")
        stop_holder: list[asyncio.Event] = []

        def record(statuses: dict[str, str]) -> None:
            stop_holder[0].set()

        async def first() -> CheckReport:
            stop_holder.append(asyncio.Event())
            async with open_post(timeout_s=10, concurrency=1) as post:
                api = Api(post, url=box.url, token=TOKEN)
                return await check_deliveries(
                    words, api, SendPolicy(concurrency=1), record=record, stop=stop_holder[0]
                )

        report = asyncio.run(first())
        done = sum(1 for w in words.values() if w)
        again = check(box, words)
        stats = box.state.stats()
    assert (report.end, done) == (End.INTERRUPTED, 100)
    assert again.requests == 4 and stats["info_ids"]["asked"] == 500
    assert set(words.values()) == {"delivered"}


def test_counts_by_delivery_label() -> None:
    """Sent rows by label, in the order delivered, failed, pending…, not_found, not checked."""
    words = ["failed", "", "delivered", "queued", "new", "not_found", "delivered"]
    rows = [PlanRow(n, (), Status.SENT, sms_id=str(n), delivery=w) for n, w in enumerate(words)]
    rows.append(PlanRow(99, (), Status.INVALID))
    assert counts(rows) == [
        ("delivered", 2),
        ("failed", 1),
        ("pending", 1),
        ("pending (queued)", 1),
        ("not_found", 1),
        ("not checked", 1),
    ]
