"""What the commands share: the clock, the API key and URL, the ledger, the connection to the
API (one HTTP session and the account's request slots), Ctrl-C handling and the results."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from ..campaign import Campaign, load_campaign, with_results
from ..errors import ExitStatus, InputError, ResultsError, WooxyBulkError, display_path
from ..ledger import Cap, Ledger, choose, open_ledger, request_slots, utc_now
from ..ledger.pgslots import PostgresSlots
from ..plan.rows import Plan
from ..plan.schedule import Clock, Sleeper
from ..results import write_results
from ..sandbox import SandboxConfig, running_sandbox
from ..send import scope as scopes
from ..send.api import Api, WooxyClient
from ..send.https import LOOPBACK, Post, open_post
from ..send.scope import origin
from ..send.sender import SendPolicy
from ..send.slots import LocalSlots

API_KEY_VARIABLE = "WOOXY_API_KEY"
API_URL_VARIABLE = "WOOXY_API_URL"
SANDBOX_TOKEN = "sandbox"
# Test-only: the instant (ISO 8601) the run's clock starts from, so subprocess tests of send
# windows do not depend on the machine's clock. In-process tests pass obj={"clock": ...} instead.
TEST_NOW_VARIABLE = "WOOXY_TEST_NOW"
REHEARSAL = SandboxConfig(tokens=(SANDBOX_TOKEN,))  # the sandbox `run --sandbox` starts


@contextmanager
def endpoint(sandbox: bool, url: str) -> Iterator[tuple[str, str]]:
    """The API URL to send to and the journal scope it belongs to: with --sandbox, a sandbox
    started for the run (a rehearsal is journaled apart from real sends)."""
    if not sandbox:
        yield url, scopes.scope(url)
        return
    with running_sandbox(REHEARSAL) as box:
        yield box.url, scopes.SANDBOX


def fail(message: str, status: ExitStatus) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(status)


@dataclass(frozen=True)
class Timing:
    """The run's clock (aware UTC datetimes) and sleeper: injected by tests, real otherwise."""

    clock: Clock
    sleep: Sleeper


def timing(obj: Any) -> Timing:
    """The clock and sleeper given in click's `obj` (tests), else the real ones."""
    given = obj if isinstance(obj, dict) else {}
    clock = given.get("clock") or _test_clock() or (lambda: datetime.now(UTC))
    return Timing(clock, given.get("sleep") or asyncio.sleep)


def _test_clock() -> Clock | None:
    start = os.environ.get(TEST_NOW_VARIABLE, "").strip()
    if not start:
        return None
    first = datetime.fromisoformat(start).astimezone(UTC)
    began = time.monotonic()
    return lambda: first + timedelta(seconds=time.monotonic() - began)


def load(path: Path, results: Path | None) -> Campaign:
    """The campaign file, with `--results` in place of its `results` key where given."""
    campaign = load_campaign(path)
    return campaign if results is None else with_results(campaign, results)


def api_key() -> str:
    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not key:
        raise InputError(
            f"{API_KEY_VARIABLE} is not set: export your Wooxy API key in it"
            " (or rehearse with --sandbox, or check with --dry-run)"
        )
    return key


def api_url(campaign: Campaign) -> str:
    """`WOOXY_API_URL`, else the campaign's `api.url`, checked: https (http on loopback only),
    with no user name or password in it."""
    from_env = os.environ.get(API_URL_VARIABLE, "").strip().rstrip("/")
    url, source = (from_env, API_URL_VARIABLE) if from_env else (campaign.api.url, "api.url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{source}: {url!r} is not an http(s) URL such as https://api.wooxy.com/v3"
        )
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"{source}: remove the user name and password from the URL"
            f" (the API key goes in {API_KEY_VARIABLE})"
        )
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise InputError(f"{source}: {url!r} has an invalid port") from None
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise InputError(
            f"{source}: {url} would send the API key unencrypted; use https://"
            " (plain http is only for a sandbox on 127.0.0.1)"
        )
    return url


@contextmanager
def ledger_at(location: str | Path) -> Iterator[Ledger]:
    ledger = open_ledger(location)
    try:
        yield ledger
    finally:
        ledger.close()


def cap(campaign: Campaign) -> tuple[Cap | None, datetime]:
    """The campaign's frequency cap, and the instant it is counted back from."""
    given = campaign.frequency_cap
    return (Cap(given.messages, given.hours) if given else None), utc_now()


def policy(campaign: Campaign) -> SendPolicy:
    return SendPolicy(concurrency=campaign.api.concurrency, max_attempts=campaign.api.max_attempts)


@dataclass(frozen=True)
class Connection:
    """One HTTP session to the API at `url`, and the account's request slots."""

    post: Post
    slots: LocalSlots | PostgresSlots
    url: str
    token: str

    def api(self) -> Api:
        return Api(self.post, url=self.url, token=self.token)

    def client(self, campaign: Campaign) -> WooxyClient:
        """The Send SMS client, with the campaign's domain, from name and tags."""
        return WooxyClient(
            self.post,
            url=self.url,
            token=self.token,
            domain=campaign.domain,
            from_name=campaign.from_name,
            tags=campaign.tags,
        )


@asynccontextmanager
async def connect(campaign: Campaign, url: str, token: str) -> AsyncIterator[Connection]:
    """A connection for the campaign's timeout and concurrency. The slots are in the database of
    a PostgreSQL ledger (every machine of the team shares them), else this machine's lock files."""
    location = choose(None, campaign.ledger_location)
    slots = request_slots(location, token, origin(url)) or LocalSlots.for_account(token, url)
    try:
        async with open_post(
            timeout_s=campaign.api.timeout_s, concurrency=campaign.api.concurrency
        ) as post:
            yield Connection(post, slots, url, token)
    finally:
        await slots.aclose()  # a PostgreSQL ledger's database lets every slot go with it


@asynccontextmanager
async def stop_on_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by Ctrl-C or SIGTERM (stop starting requests); a second one cancels the
    task (stop waiting for those in flight)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def interrupt() -> None:
        if stop.is_set() and task is not None:
            task.cancel()  # a second Ctrl-C: stop waiting for the requests in flight
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt)
    try:
        yield stop
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def write(campaign: Campaign, plan: Plan, failure: type[WooxyBulkError] = ResultsError) -> None:
    """Write the results; a failure after sending is ResultsError (exit 1), before it InputError."""
    try:
        write_results(campaign.results_path, plan)
    except OSError as exc:
        raise failure(
            f"{display_path(campaign.results_path)}: cannot write the results ({exc.strerror});"
            " close it if it is open in Excel, or pick another file with --results."
            " The journal keeps every outcome: a re-run writes them without sending anything twice"
        ) from None


@dataclass(frozen=True)
class RunOptions:
    """The options of `run`, as the command line gave them."""

    dry_run: bool
    sandbox: bool
    limit: int | None
    yes: bool
    quiet: bool
    retry_failed: bool
    resend_unknown: bool
    no_dry_run_check: bool = False
    new_api_url: bool = False
    journal_from_results: bool = False
    test_to: str | None = None
    test_count: int = 1
    wait: bool = False
