"""The sandbox: every error text of the API page over loopback, faults, limits, stats, serving."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from wooxy_bulk.errors import InputError
from wooxy_bulk.sandbox import RunningSandbox, SandboxConfig, create_app, running_sandbox, serve
from wooxy_bulk.sandbox import server as sandbox_module

TOKEN = "sandbox"
DOMAIN = "shop.example.com"
PHONE = "+447911123456"
BLACKLISTED = "+14155552671"
GOOD: dict[str, Any] = {"domain": DOMAIN, "phoneNumber": PHONE, "text": "Hi, API Sms!"}
CONFIG = SandboxConfig(domains=(DOMAIN,), blacklist=(BLACKLISTED,))
SMS_ID = re.compile(r"[0-9a-f]{24}")
FROM_NAME_RULE = (
    "Argument fromName must contain 11 and less A-Z, a-z, 0-9 symbols and spaces"
    " or be a valid phoneNumber"
)
UNDERSCORE_RULE = (
    "Any tags starting with an underscore are reserved for internal use and will cause errors"
)
NO_BALANCE = "Insufficient balance. You need at least 0.05 to send this message"


def body(**changes: Any) -> dict[str, Any]:
    """The good body with `changes`; a value of ... removes that key."""
    merged = {**GOOD, **changes}
    return {key: value for key, value in merged.items() if value is not ...}


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll `condition` until it holds (generous limit: it only guards against a hung test)."""
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.005)
    raise AssertionError("condition never became true")


def post(box: RunningSandbox, payload: Any, token: str | None = TOKEN, **kw: Any) -> httpx.Response:
    """POST to the send endpoint; `payload` bytes go raw, anything else as JSON."""
    headers = {} if token is None else {"Access-Token": token}
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return httpx.post(f"{box.url}/sms/send", content=content, headers=headers, **kw)


@pytest.fixture(scope="module")
def box() -> Iterator[RunningSandbox]:
    """One sandbox over loopback for the tests whose config is CONFIG."""
    with running_sandbox(CONFIG) as running:
        yield running


@pytest.mark.parametrize(
    ("token", "payload", "status", "error"),
    [
        (TOKEN, body(domain=""), 400, "Argument domain must be a non-empty string"),
        (TOKEN, body(domain=7), 400, "Argument domain must be a non-empty string"),
        (
            TOKEN,
            body(phoneNumber=447911123456),
            400,
            "Argument phoneNumber must be a non-empty string",
        ),
        (TOKEN, body(phoneNumber="+123"), 400, "+123 is not a valid E.164 phone number"),
        (
            TOKEN,
            body(phoneNumber="447911123456"),
            400,
            "447911123456 is not a valid E.164 phone number",
        ),
        (
            TOKEN,
            body(phoneNumber="+44 7911 123456"),
            400,
            "+44 7911 123456 is not a valid E.164 phone number",
        ),
        (
            TOKEN,
            body(phoneNumber="+447700900123"),
            400,
            "+447700900123 is not a valid E.164 phone number",
        ),
        (TOKEN, body(text="   "), 400, "Argument text must be a non-empty string"),
        (TOKEN, body(text=["Hi"]), 400, "Argument text must be a non-empty string"),
        (TOKEN, body(fromName=""), 400, "Argument fromName must be a non-empty string"),
        (TOKEN, body(fromName="TwelveChars1"), 400, FROM_NAME_RULE),
        (TOKEN, body(fromName="Shop!"), 400, FROM_NAME_RULE),
        (TOKEN, body(tags="spring"), 400, "Argument tags must be an array"),
        (TOKEN, body(tags=["ok", ""]), 400, "Tag name must be a non-empty string"),
        (TOKEN, body(tags=[5]), 400, "Tag name must be a non-empty string"),
        (TOKEN, body(tags=["x" * 51]), 400, "Tags should be 50 characters or less"),
        (TOKEN, body(tags=["_spring"]), 400, UNDERSCORE_RULE),
        ("sandbox-inactive", GOOD, 403, "SMS service is not activated for account sandbox"),
        (TOKEN, body(phoneNumber=BLACKLISTED), 400, f"Phone number {BLACKLISTED} is blacklisted"),
        (
            TOKEN,
            body(domain="other.example.com"),
            404,
            "Domain other.example.com not found in your account",
        ),
        (None, GOOD, 401, "Invalid authorization token!"),
        ("", GOOD, 401, "Invalid authorization token!"),
        (TOKEN, b"domain=shop.example.com", 400, "Bad Request"),
        (TOKEN, b"[1, 2]", 400, "Bad Request"),
        (TOKEN, b"\xff\xfe", 400, "Bad Request"),
        ("wrong-token", GOOD, 401, "no matches found for access token wrong-token"),
        ("sandbox-disabled", GOOD, 403, "user 1 not enabled"),
        ("sandbox-nodata", GOOD, 401, "no data found for key 1"),
        (
            "sandbox-badsecret",
            GOOD,
            401,
            "access token check failed for key/secret 1/sandbox-badsecret",
        ),
        (TOKEN, body(domain=...), 400, "Argument domain required"),
        (TOKEN, body(phoneNumber=...), 400, "Argument phoneNumber required"),
        (TOKEN, body(text=None), 400, "Argument text required"),
    ],
)
def test_each_api_error_text_over_loopback(
    box: RunningSandbox, token: str | None, payload: Any, status: int, error: str
) -> None:
    """Each offending request gets the page's exact text in its error shape, and is not sent."""
    before = len(box.state.messages)
    answer = post(box, payload, token)
    assert (answer.status_code, answer.json()) == (status, {"result": False, "errors": [error]})
    assert answer.headers["content-type"] == "application/json"
    assert len(box.state.messages) == before


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"fromName": "Shop Name 1", "tags": ["smsApiSend"]},
        {"fromName": "+447911123457", "tags": []},
        {"fromName": None, "tags": None, "unknown": 1},
        {"domain": "SHOP.Example.com", "tags": ["x" * 50]},
    ],
)
def test_success_shape_and_message_listed(box: RunningSandbox, changes: dict[str, Any]) -> None:
    """A good request gets result true with a 24-hex sms_id, and is listed as it was sent."""
    sent = body(**changes)
    answer = post(box, sent)
    assert answer.status_code == 200
    assert answer.json().keys() == {"result", "sms_id"} and answer.json()["result"] is True
    assert SMS_ID.fullmatch(answer.json()["sms_id"])
    listed = httpx.get(box.url.removesuffix("/v3") + "/sandbox/messages").json()[-1]
    assert listed.pop("time").endswith("+00:00")
    expected = {key: sent.get(key) for key in ("phoneNumber", "text", "fromName", "tags", "domain")}
    assert listed == {"sms_id": answer.json()["sms_id"], **expected}
    assert box.state.messages[-1]["sms_id"] == listed["sms_id"]


def test_sms_ids_are_distinct(box: RunningSandbox) -> None:
    """Every accepted message gets its own sms_id."""
    with httpx.Client() as client:
        ids = [
            client.post(f"{box.url}/sms/send", json=GOOD, headers={"Access-Token": TOKEN}).json()[
                "sms_id"
            ]
            for _ in range(20)
        ]
    assert len(set(ids)) == 20


def test_eleventh_concurrent_request_gets_429_and_peak_counts_it() -> None:
    """With 10 in flight the 11th is refused at once (429, Retry-After: 1); the peak shows 11."""

    async def scenario(box: RunningSandbox) -> tuple[list[httpx.Response], httpx.Response]:
        url, headers = f"{box.url}/sms/send", {"Access-Token": TOKEN}
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            held = [
                asyncio.create_task(client.post(url, json=GOOD, headers=headers)) for _ in range(10)
            ]
            while box.state.in_flight < 10:
                await asyncio.sleep(0.005)
            eleventh = await client.post(url, json=GOOD, headers=headers)
            return list(await asyncio.gather(*held)), eleventh

    with running_sandbox(SandboxConfig(latency_ms=1000)) as box:
        held, eleventh = asyncio.run(scenario(box))
        stats = box.state.stats()
    assert [r.status_code for r in held] == [200] * 10
    assert eleventh.status_code == 429 and eleventh.headers["retry-after"] == "1"
    too_many = "Too many concurrent requests: the API allows 10 at once"
    assert eleventh.json() == {"result": False, "errors": [too_many]}
    assert (stats["peak_concurrency"], stats["throttled"], stats["accepted"]) == (11, 1, 10)
    assert stats["in_flight"] == 0


@pytest.mark.parametrize(
    ("config", "status", "error", "fault"),
    [
        (SandboxConfig(fail_rate=1), 500, "Internal server error", "internal"),
        (SandboxConfig(publish_error_rate=1), 503, "Publishing error", "publishing"),
    ],
)
def test_injected_error_faults(config: SandboxConfig, status: int, error: str, fault: str) -> None:
    """fail_rate and publish_error_rate answer their page text; nothing is accepted."""
    with running_sandbox(config) as box:
        answer = post(box, GOOD)
        stats = box.state.stats()
    assert (answer.status_code, answer.json()) == (status, {"result": False, "errors": [error]})
    assert (stats["accepted"], stats["faults"][fault], stats["requests"]) == (0, 1, 1)


@pytest.fixture
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Serve with the given HTTP parser (httptools skipped when it is not installed)."""
    if request.param == "httptools":
        pytest.importorskip("httptools")
    monkeypatch.setattr(sandbox_module, "_HTTP", request.param)
    return str(request.param)


@pytest.mark.parametrize("parser", ["h11", "httptools"], indirect=True)
def test_hang_records_the_message_and_never_answers(parser: str) -> None:
    """hang_rate=1: the client times out, yet the message was accepted; in_flight drains."""
    with running_sandbox(SandboxConfig(hang_rate=1)) as box:
        with pytest.raises(httpx.ReadTimeout):
            post(box, GOOD, timeout=0.3)
        assert [m["phoneNumber"] for m in box.state.messages] == [PHONE]
        wait_for(lambda: box.state.in_flight == 0)
        assert box.state.stats()["faults"]["hang"] == 1


def test_gateway_error_records_the_message_then_answers_an_html_504() -> None:
    """gateway_error_rate=1: the message is taken (listed), then a gateway's HTML 504 comes."""
    with running_sandbox(SandboxConfig(gateway_error_rate=1)) as box:
        answer = post(box, GOOD)
        assert answer.status_code == 504
        assert answer.headers["content-type"] == "text/html"
        assert b"<h1>504 Gateway Time-out</h1>" in answer.content
        assert [m["phoneNumber"] for m in box.state.messages] == [PHONE]
        assert box.state.stats()["faults"]["gateway"] == 1


def test_json_is_written_as_php_writes_it(box: RunningSandbox) -> None:
    """The API's JSON escapes / as \\/ and non-ASCII as \\u, as PHP's json_encode does."""
    answer = post(box, GOOD, token="key/with+plus")
    assert b'"no matches found for access token key\\/with+plus"' in answer.content
    answer = post(box, body(domain="café.example/x"))
    assert b'"Domain caf\\u00e9.example\\/x not found in your account"' in answer.content
    assert answer.json()["errors"] == ["Domain café.example/x not found in your account"]


@pytest.mark.parametrize("parser", ["h11", "httptools"], indirect=True)
def test_shutdown_while_requests_hang_drops_them_unanswered(parser: str) -> None:
    """Leaving running_sandbox with a request hanging closes its connection without an answer."""
    outcome: list[BaseException | httpx.Response] = []

    def client(box: RunningSandbox) -> None:
        try:
            outcome.append(post(box, GOOD, timeout=30))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    with running_sandbox(SandboxConfig(hang_rate=1)) as box:
        thread = threading.Thread(target=client, args=(box,))
        thread.start()
        wait_for(lambda: box.state.faults["hang"] == 1)
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.RemoteProtocolError)


def test_balance_counts_down_to_the_balance_error() -> None:
    """balance=2: two messages are accepted, then the balance error; bad requests cost none."""
    with running_sandbox(SandboxConfig(balance=2)) as box:
        statuses = [post(box, GOOD).status_code, post(box, body(text="")).status_code]
        statuses += [post(box, GOOD).status_code]
        third = post(box, GOOD)
        stats = box.state.stats()
    assert statuses == [200, 400, 200]
    assert (third.status_code, third.json()["errors"]) == (402, [NO_BALANCE])
    assert (stats["accepted"], stats["balance_left"]) == (2, 0)


def test_config_assigned_to_state_applies_live() -> None:
    """A new state.config takes effect at once: a topped-up balance, another domain list."""
    with running_sandbox(SandboxConfig(balance=1)) as box:
        first, refused = post(box, GOOD).status_code, post(box, GOOD).json()["errors"]
        box.state.config = replace(box.state.config, balance=None, domains=("other.example",))
        wrong_domain = post(box, GOOD).json()["errors"]
        topped_up = post(box, body(domain="OTHER.example")).status_code
    assert (first, refused, topped_up) == (200, [NO_BALANCE], 200)
    assert wrong_domain == [f"Domain {DOMAIN} not found in your account"]


def test_stats_endpoint_counts_by_outcome() -> None:
    """/sandbox/stats counts requests, accepted, rejections by page template, faults and peak."""
    with running_sandbox(SandboxConfig(balance=5)) as box:
        post(box, GOOD)
        post(box, body(phoneNumber="+1"))
        post(box, body(phoneNumber="+2"))
        post(box, GOOD, token="nope")
        stats = httpx.get(box.url.removesuffix("/v3") + "/sandbox/stats").json()
    assert stats == {
        "requests": 4,
        "accepted": 1,
        "rejected": {
            "{phoneNumber} is not a valid E.164 phone number": 2,
            "no matches found for access token {accessToken}": 1,
        },
        "faults": {"internal": 0, "publishing": 0, "hang": 0, "gateway": 0},
        "throttled": 0,
        "in_flight": 0,
        "peak_concurrency": 1,
        "balance_left": 4,
        "methods": {"sms/send": 4, "sms/info": 0, "account/info": 0},
        "info_ids": {"asked": 0, "largest": 0},
    }


# --- in-process, through httpx.ASGITransport -------------------------------------------------


def call(config: SandboxConfig, *requests: tuple[str | None, Any]) -> list[tuple[int, Any]]:
    """Send (token, payload) requests in turn to a fresh app in-process; (status, JSON) each."""

    async def run() -> list[tuple[int, Any]]:
        transport = httpx.ASGITransport(app=create_app(config))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            answers = []
            for token, payload in requests:
                headers = {} if token is None else {"Access-Token": token}
                content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                answer = await client.post("/v3/sms/send", content=content, headers=headers)
                answers.append((answer.status_code, answer.json()))
            return answers

    return asyncio.run(run())


def errors_of(answers: list[tuple[int, Any]]) -> list[str]:
    """The first error text of each answer, or "ok"."""
    return [payload["errors"][0] if not payload["result"] else "ok" for _, payload in answers]


@pytest.mark.parametrize(
    ("token", "payload", "error"),
    [
        ("nope", b"not json", "no matches found for access token nope"),
        (TOKEN, b"[]", "Bad Request"),
        (
            TOKEN,
            body(domain="other.example.com", text=""),
            "Argument text must be a non-empty string",
        ),
        (
            TOKEN,
            body(domain="other.example.com", phoneNumber=BLACKLISTED),
            "Domain other.example.com not found in your account",
        ),
        (TOKEN, body(phoneNumber="+1", text=...), "+1 is not a valid E.164 phone number"),
        (TOKEN, body(fromName="!", tags="x"), FROM_NAME_RULE),
    ],
)
def test_check_order(token: str, payload: Any, error: str) -> None:
    """Auth before body before arguments (page order) before domain and blacklist."""
    assert errors_of(call(CONFIG, (token, payload))) == [error]


def test_any_domain_when_none_configured() -> None:
    """With no domains configured, any domain is accepted."""
    answers = call(SandboxConfig(), (TOKEN, body(domain="anything.example")))
    assert errors_of(answers) == ["ok"]


def test_seeded_faults_are_reproducible() -> None:
    """The same seed draws the same faults in the same order; both kinds occur at rate 0.5."""
    config = SandboxConfig(fail_rate=0.5, seed=7)
    first, second = (errors_of(call(config, *[(TOKEN, GOOD)] * 30)) for _ in range(2))
    assert first == second
    assert set(first) == {"ok", "Internal server error"}


def test_custom_tokens_and_limit() -> None:
    """Only the configured tokens pass; the default token is then unknown."""
    answers = call(SandboxConfig(tokens=("k1", "k2")), ("k2", GOOD), (TOKEN, GOOD))
    assert errors_of(answers) == ["ok", "no matches found for access token sandbox"]


def test_other_methods_and_paths() -> None:
    """GET on the send endpoint is 405; unknown paths are 404."""

    async def run() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=create_app(SandboxConfig()))
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return (
                (await client.get("/v3/sms/send")).status_code,
                (await client.post("/v3/sms/other")).status_code,
            )

    assert asyncio.run(run()) == (405, 404)


# --- serving ------------------------------------------------------------------------------------


def test_running_sandbox_url_is_loopback_with_v3() -> None:
    """The URL names the loopback host, the picked port and /v3."""
    with running_sandbox() as box:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v3", box.url)
        assert not box.url.endswith(":0/v3")


@pytest.mark.parametrize("start", [running_sandbox, serve])
def test_port_in_use_is_an_input_error(start: Callable[..., Any]) -> None:
    """A port already in use raises InputError naming the port, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=rf"^port {port} is in use; "):
            if start is serve:
                serve(SandboxConfig(), port=port)
            else:
                with running_sandbox(port=port):
                    pass


def test_serve_reports_ready_and_stops_cleanly_on_ctrl_c() -> None:
    """`serve` calls on_ready(url) once listening and returns quietly on SIGINT."""
    script = (
        "from wooxy_bulk.sandbox import SandboxConfig, serve\n"
        "serve(SandboxConfig(), port=0, on_ready=lambda url: print(url, flush=True))\n"
        "print('returned', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        answer = httpx.post(f"{url}/sms/send", json=GOOD, headers={"Access-Token": TOKEN})
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v3", url) and answer.status_code == 200
    assert (proc.returncode, out, "Traceback" in err) == (0, "returned\n", False)
