"""The sandbox's /v3/sms/info and /v3/account/info over loopback: answers, error texts, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from wooxy_bulk.sandbox import RunningSandbox, SandboxConfig, running_sandbox

TOKEN = "sandbox"
GOOD: dict[str, Any] = {"domain": "shop.example.com", "phoneNumber": "+447911123456", "text": "Hi"}
START = 1_764_547_200.0  # 2025-12-01 00:00:00 UTC


class Clock:
    """A settable clock for the sandbox (seconds since the epoch)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(box: RunningSandbox, method: str, payload: Any, token: str | None = TOKEN) -> Any:
    """POST `payload` (bytes raw, else JSON) to `method`; (status, JSON answer)."""
    headers = {} if token is None else {"Access-Token": token}
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    answer = httpx.post(f"{box.url}/{method}", content=content, headers=headers)
    return answer.status_code, answer.json()


def send(box: RunningSandbox, **changes: Any) -> str:
    status, payload = call(box, "sms/send", {**GOOD, **changes})
    assert status == 200, payload
    return str(payload["sms_id"])


@pytest.fixture(scope="module")
def box() -> Iterator[RunningSandbox]:
    """One sandbox with default rules for the tests of bad bodies."""
    with running_sandbox(SandboxConfig()) as running:
        yield running


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "Argument ids required"),
        ({"ids": None}, "Argument ids required"),
        ({"ids": "abc"}, "Argument ids must be an array of strings"),
        ({"ids": {"a": 1}}, "Argument ids must be an array of strings"),
        ({"ids": []}, "Argument ids can not be empty"),
        ({"ids": [""]}, "each id must be a non-empty string"),
        ({"ids": ["a", "  "]}, "each id must be a non-empty string"),
        ({"ids": ["a", 5]}, "each id must be a non-empty string"),
        ({"ids": [f"{i:024x}" for i in range(101)]}, "ids count must be less or equal to 100"),
        (b"not json", "Bad Request"),
        (b"[]", "Bad Request"),
    ],
)
def test_info_bad_bodies(box: RunningSandbox, payload: Any, error: str) -> None:
    """Each bad /v3/sms/info body is answered with its documented text, result false."""
    status, answer = call(box, "sms/info", payload)
    assert (status, answer) == (400, {"result": False, "errors": [error]})


@pytest.mark.parametrize("method", ["sms/info", "account/info"])
@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, "Invalid authorization token!"),
        ("nope", "no matches found for access token nope"),
        ("sandbox-disabled", "user 1 not enabled"),
        ("sandbox-nodata", "no data found for key 1"),
        ("sandbox-badsecret", "access token check failed for key/secret 1/sandbox-badsecret"),
        ("sandbox-inactive", "SMS service is not activated for account sandbox"),
    ],
)
def test_account_errors_on_every_method(
    box: RunningSandbox, method: str, token: str | None, error: str
) -> None:
    """The account errors of the send page (magic tokens) answer every method, before the body."""
    status, answer = call(box, method, {"ids": []} if method == "sms/info" else b"", token)
    assert status in (401, 403) and answer == {"result": False, "errors": [error]}


def test_statuses_move_from_new_to_final_after_the_delay() -> None:
    """A message is new until delivery_delay_s has passed on the sandbox's clock, then final."""
    clock = Clock()
    config = SandboxConfig(delivery_delay_s=2, clock=clock)
    with running_sandbox(config) as box:
        sms_id = send(box, fromName="Shop")
        first = call(box, "sms/info", {"ids": [sms_id]})
        clock.now += 1.999
        still = call(box, "sms/info", {"ids": [sms_id]})[1]["data"][sms_id]["status"]
        clock.now += 0.001
        final = call(box, "sms/info", {"ids": [sms_id]})[1]["data"][sms_id]["status"]
    assert first == (
        200,
        {
            "result": True,
            "data": {
                sms_id: {
                    "id": sms_id,
                    "status": "new",
                    "createdAt": "2025-12-01 00:00:00",
                    "text": "Hi",
                    "phoneNumber": "+447911123456",
                    "fromName": "Shop",
                }
            },
            "errors": [],
        },
    )
    assert (still, final) == ("new", "delivered")


@pytest.mark.parametrize(("rate", "failed"), [(0.0, 0), (1.0, 40), (0.5, 18)])
def test_delivery_fail_rate(rate: float, failed: int) -> None:
    """delivery_fail_rate is the share of messages that end failed (seeded: reproducible)."""
    config = SandboxConfig(delivery_delay_s=0, delivery_fail_rate=rate, seed=3)
    with running_sandbox(config) as box:
        ids = [send(box) for _ in range(40)]
        data = call(box, "sms/info", {"ids": ids})[1]["data"]
    statuses = [data[i]["status"] for i in ids]
    assert statuses.count("failed") == failed
    assert statuses.count("delivered") == 40 - failed


def test_unknown_ids_are_null_and_named_in_errors() -> None:
    """A partly successful answer: result true, unknown ids null with "SMS <id> not found"."""
    with running_sandbox(SandboxConfig(delivery_delay_s=0)) as box:
        known = send(box)
        status, answer = call(box, "sms/info", {"ids": ["nope1", known, "nope2", "nope1"]})
    assert status == 200 and answer["result"] is True
    assert answer["data"]["nope1"] is None and answer["data"]["nope2"] is None
    assert answer["data"][known]["status"] == "delivered"
    assert answer["errors"] == ["SMS nope1 not found", "SMS nope2 not found"]


def test_a_status_word_set_by_a_test_is_answered() -> None:
    """Deliveries.set_status shows any other word (the API's list of words is open)."""
    with running_sandbox(SandboxConfig()) as box:
        sms_id = send(box)
        box.state.deliveries.set_status(sms_id, "enroute")
        data = call(box, "sms/info", {"ids": [sms_id]})[1]["data"]
    assert data[sms_id]["status"] == "enroute"


def test_account_info_balance_counts_down() -> None:
    """The balance is the messages left times 0.05 (the balance error's price); empty or {} body."""
    with running_sandbox(SandboxConfig(balance=10)) as box:
        before = call(box, "account/info", b"")
        send(box)
        after = call(box, "account/info", {})
        box.state.config = replace(box.state.config, balance=None)
        unlimited = call(box, "account/info", b"{}")[1]["accountBalance"]
        bad = call(box, "account/info", b"[1]")
    assert before == (200, {"result": True, "accountName": "sandbox", "accountBalance": 0.5})
    assert after[1]["accountBalance"] == 0.45
    assert unlimited == 1_000_000.0
    assert bad == (400, {"result": False, "errors": ["Bad Request"]})


@pytest.mark.parametrize(
    ("held", "extra"),
    [("sms/send", "sms/info"), ("sms/info", "account/info"), ("account/info", "sms/send")],
)
def test_eleventh_concurrent_request_is_refused_across_methods(held: str, extra: str) -> None:
    """With 10 requests of one method in flight, an 11th of another method gets 429."""

    async def scenario(box: RunningSandbox) -> tuple[list[int], httpx.Response]:
        headers = {"Access-Token": TOKEN}
        bodies = {"sms/send": GOOD, "sms/info": {"ids": ["x"]}, "account/info": {}}
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20), timeout=30) as c:
            tasks = [
                asyncio.create_task(c.post(f"{box.url}/{held}", json=bodies[held], headers=headers))
                for _ in range(10)
            ]
            while box.state.in_flight < 10:
                await asyncio.sleep(0.005)
            eleventh = await c.post(f"{box.url}/{extra}", json=bodies[extra], headers=headers)
            return [r.status_code for r in await asyncio.gather(*tasks)], eleventh

    with running_sandbox(SandboxConfig(latency_ms=700)) as box:
        statuses, eleventh = asyncio.run(scenario(box))
        stats = box.state.stats()
    too_many = "Too many concurrent requests: the API allows 10 at once"
    assert statuses == [200] * 10
    assert (eleventh.status_code, eleventh.json()["errors"]) == (429, [too_many])
    assert (stats["peak_concurrency"], stats["throttled"]) == (11, 1)


def test_stats_count_each_method_and_the_ids_asked() -> None:
    """/sandbox/stats counts requests by method, the ids asked for and the most in one request."""
    with running_sandbox(SandboxConfig()) as box:
        ids = [send(box) for _ in range(3)]
        call(box, "sms/info", {"ids": ids})
        call(box, "sms/info", {"ids": ids[:1]})
        call(box, "sms/info", {"ids": []})
        call(box, "account/info", b"")
        stats = httpx.get(box.url.removesuffix("/v3") + "/sandbox/stats").json()
    assert stats["methods"] == {"sms/send": 3, "sms/info": 3, "account/info": 1}
    assert stats["info_ids"] == {"asked": 4, "largest": 3}
    assert stats["requests"] == 7
    assert stats["rejected"] == {"Argument ids can not be empty": 1}


@pytest.mark.parametrize("method", ["sms/info", "account/info"])
def test_fail_rate_answers_internal_server_error_on_every_method(method: str) -> None:
    """fail_rate=1: sms/info and account/info answer 500 "Internal server error" too."""
    with running_sandbox(SandboxConfig(fail_rate=1)) as box:
        status, answer = call(box, method, {"ids": ["x"]})
        faults = box.state.stats()["faults"]["internal"]
    assert (status, answer, faults) == (
        500,
        {"result": False, "errors": ["Internal server error"]},
        1,
    )
