"""A faithful local fake of the Wooxy API (Starlette app served by uvicorn on loopback).

``POST /v3/sms/info`` and ``POST /v3/account/info`` (delivery.py) share steps 1-4 below
with the send method (one concurrency limit for the account, whatever the method), then check
their own body; ``fail_rate`` then answers them 500 "Internal server error" too.

``POST /v3/sms/send`` checks, in this order, answering with the first problem found:

1. concurrency: a request arriving while ``max_concurrency`` are in flight gets 429 at once
   (``Retry-After: 1``, "Too many concurrent requests: the API allows 10 at once");
2. steps 3-7 decide at once; the answer (error or not) then leaves ``latency_ms`` after the
   request came in, so the sandbox's own work is part of that latency, not added to it;
3. auth (Access-Token header): missing/empty 401 "Invalid authorization token!"; the magic tokens
   ``sandbox-inactive`` 403 "SMS service is not activated for account sandbox",
   ``sandbox-disabled`` 403 "user 1 not enabled", ``sandbox-nodata`` 401 "no data found for key 1",
   ``sandbox-badsecret`` 401 "access token check failed for key/secret 1/sandbox-badsecret";
   any other token not in ``tokens`` 401 "no matches found for access token <token>";
4. body: not JSON, or JSON that is no object: 400 "Bad Request";
5. arguments, 400 (see rules.py): domain, phoneNumber, E.164, text, fromName, tags. JSON null
   counts as absent; a whitespace-only string counts as empty; unknown keys are ignored;
6. account: domain not in ``domains`` (case-insensitive; empty = any) 404, number in ``blacklist``
   400, ``balance`` (messages accepted since start) used up 402 "Insufficient balance. You need
   at least 0.05 to send this message";
7. injected faults, one draw each in this order: ``fail_rate`` 500 "Internal server error",
   ``publish_error_rate`` 503 "Publishing error" (neither is accepted nor uses balance),
   ``hang_rate``: the message is accepted and recorded, then no answer ever comes; the request
   stays in flight until the client gives up, or the server shuts down and drops the connection;
   ``gateway_error_rate``: the message is accepted and recorded, then a gateway's HTML 504 page
   comes instead of the answer (as when a load balancer gives up waiting for the API);
8. accept: 200 ``{"result": true, "sms_id": "<24 lower-case hex>"}``.

The API's JSON is written as PHP writes it: ``/`` as ``\\/`` and non-ASCII as ``\\u`` escapes.

Statuses are the sandbox's choice; clients must classify by the error text. Assigning a new
config to ``state.config`` applies it live (say, a topped-up balance). uvicorn parses HTTP with
httptools when it is installed (less CPU per request), else with h11.

``GET /sandbox/messages``: the accepted messages in acceptance order, each
``{"sms_id", "phoneNumber", "text", "fromName", "tags", "domain", "time"}`` (time: ISO 8601 UTC).
``GET /sandbox/stats``: ``{"requests", "accepted", "rejected": {page template: n}, "faults":
{"internal", "publishing", "hang", "gateway"}, "throttled", "in_flight", "peak_concurrency",
"balance_left", "methods": {"sms/send": n, "sms/info": n, "account/info": n}, "info_ids":
{"asked", "largest"}}``.
Requests, throttled and the peak count every method; with sends only, requests = accepted +
sum(rejected) + internal + publishing + throttled (hangs and gateway errors are accepted).
``peak_concurrency`` includes a refused request: 11 sent at once shows 11. ``info_ids`` counts
the ids asked for and the most in one request.
"""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from wooxy_bulk.errors import InputError
from wooxy_bulk.sandbox import rules
from wooxy_bulk.sandbox.delivery import ACCOUNT_PATH, INFO_PATH
from wooxy_bulk.sandbox.rules import SEND_PATH, SandboxConfig, SandboxState

_HTTP = "httptools" if importlib.util.find_spec("httptools") else "h11"
GATEWAY_PAGE = (  # as nginx writes it
    b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
)
_HANGING = "wooxy_bulk.sandbox.hanging"  # scope key marking a request that never gets an answer


Decide = Callable[[str, bytes], "rules.Rejection | dict[str, Any]"]


class _Endpoint:
    """One API method as a bare ASGI app: small per-request work, full control of hangs.

    Every method shares the concurrency limit and the latency; `decide(token, body)` gives the
    error or the answer's JSON. Only the send method hangs (``hangs``).
    """

    def __init__(self, state: SandboxState, path: str, decide: Decide, hangs: bool) -> None:
        self.state, self.path, self.decide, self.hangs = state, path, decide, hangs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        if not self.state.admit(self.path):
            limit = self.state.config.max_concurrency
            text = rules.TOO_MANY.format(limit=limit)
            await _answer(send, 429, _failure(text), ((b"retry-after", b"1"),))
            return
        try:
            await self._handle(scope, receive, send, raw)
        finally:
            self.state.release()

    async def _handle(self, scope: Scope, receive: Receive, send: Send, raw: bytes) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.state.config.latency_ms / 1000
        outcome = self.decide(_header(scope, b"access-token"), raw)
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        if isinstance(outcome, rules.Rejection):
            await _answer(send, outcome.status, _failure(outcome.text))
        elif self.hangs and (fault := self.state.draw_after_accept()) is not None:
            if fault == "gateway":
                await _send(send, 504, GATEWAY_PAGE, b"text/html")
                return
            scope[_HANGING] = True
            while (await receive())["type"] != "http.disconnect":
                pass
        else:
            await _answer(send, 200, outcome)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1").strip()
    return ""


def _failure(text: str) -> dict[str, Any]:
    return {"result": False, "errors": [text]}


async def _answer(
    send: Send, status: int, payload: dict[str, Any], extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """The API's JSON answer, written as PHP's json_encode writes it (``\\/``, ``\\u00e9``)."""
    body = json.dumps(payload).replace("/", "\\/").encode()
    await _send(send, status, body, b"application/json", extra)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra]})
    await send({"type": "http.response.body", "body": body})


def create_app(config: SandboxConfig) -> Starlette:
    """The sandbox ASGI app; ``app.state.sandbox`` is its live SandboxState."""
    state = SandboxState(config)

    async def messages(request: Request) -> JSONResponse:
        return JSONResponse(state.messages)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(state.stats())

    def decide_send(token: str, raw: bytes) -> rules.Rejection | dict[str, Any]:
        outcome = state.decide(token, raw)
        if isinstance(outcome, rules.Rejection):
            return outcome
        return {"result": True, "sms_id": outcome["sms_id"]}

    endpoints = {
        SEND_PATH: _Endpoint(state, SEND_PATH, decide_send, hangs=True),
        INFO_PATH: _Endpoint(state, INFO_PATH, state.decide_info, hangs=False),
        ACCOUNT_PATH: _Endpoint(state, ACCOUNT_PATH, state.decide_account, hangs=False),
    }
    app = _SandboxApp(
        routes=[
            *(Route(path, endpoint, methods=["POST"]) for path, endpoint in endpoints.items()),
            Route("/sandbox/messages", messages, methods=["GET"]),
            Route("/sandbox/stats", stats, methods=["GET"]),
        ]
    )
    app.endpoints = endpoints
    app.state.sandbox = state
    return app


class _SandboxApp(Starlette):
    """Starlette with a fast path: the API's POST methods skip the middleware and the router."""

    endpoints: dict[str, _Endpoint]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is not None and scope["method"] == "POST":
            await endpoint(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox serving in the background: its API base URL and its live state."""

    url: str  # the send endpoint is url + "/sms/send"
    state: SandboxState


class _Server(uvicorn.Server):
    """uvicorn that reports readiness and drops hanging requests' connections on shutdown."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            if cycle is not None and cycle.scope.get(_HANGING) and not cycle.response_complete:
                connection.transport.close()  # no answer at all, as promised
        await super().shutdown(sockets)


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on exactly `host`:`port`, or an InputError saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets NODELAY
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} is in use; choose another with --port or stop what is using it"
            ) from exc
        raise InputError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from exc
    return sock


def _api_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v3"


def _server(
    app: Starlette,
    on_ready: Callable[[], None],
    log_config: dict[str, Any] | None,
    keep_alive_s: float = 5,
) -> _Server:
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http=_HTTP,
        ws="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
        log_config=log_config,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=keep_alive_s,  # an idle connection is closed after this (uvicorn's 5)
    )
    return _Server(config, on_ready)


@contextmanager
def running_sandbox(
    config: SandboxConfig = SandboxConfig(),  # noqa: B008 - frozen, safe to share
    host: str = "127.0.0.1",
    port: int = 0,
    keep_alive_s: float = 5,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox from a background thread; ready on entry, shut down on exit.

    `keep_alive_s`: how long an idle connection stays open (tests shorten it to see a client
    cope with connections the server closed)."""
    sock = _bind(host, port)
    url = _api_url(sock)
    app = create_app(config)
    ready = threading.Event()
    server = _server(app, ready.set, log_config=None, keep_alive_s=keep_alive_s)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="wooxy-sandbox", daemon=True
    )
    thread.start()
    try:
        while not ready.wait(0.02):
            if not thread.is_alive():
                raise RuntimeError("the sandbox server stopped while starting")
        yield RunningSandbox(url, app.state.sandbox)
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        sock.close()


def serve(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 8025,
    on_ready: Callable[[str], None] = lambda url: None,
) -> None:
    """Serve a sandbox until Ctrl-C; `on_ready(url)` is called once it listens."""
    sock = _bind(host, port)
    url = _api_url(sock)
    server = _server(create_app(config), lambda: on_ready(url), log_config=LOGGING_CONFIG)
    try:
        with suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()
