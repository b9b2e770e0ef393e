"""The `wooxy-bulk` command. The only module that prints, prompts and chooses exit codes."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from . import __version__, dryrun, interrupts, recovery, scaffold, testsend
from . import optout as optouts
from . import scope as scopes
from .account import Account, AccountUnavailable, read_account
from .api import Api, WooxyClient
from .campaign import Campaign, load_campaign, with_results
from .delivery import (
    CheckReport,
    Watch,
    check_deliveries,
    figures,
    is_pending,
    recorder,
    sent_words,
)
from .errors import ExitStatus, InputError, ResultsError, WooxyBulkError, display_path
from .estimate import check_balance
from .https import LOOPBACK, open_post
from .journal import Entry, Journal, JState, UnreadableJournal
from .ledger import Cap, Ledger, SendLedger, choose, open_ledger, request_slots, utc_now
from .ledger.check import reconcile, suppress
from .ledger.pgslots import PostgresSlots
from .plan import Plan, PlanRow, Status, prepare
from .progress import Progress, Tally, make_progress
from .report import closing_summary, confirmation, delivery_line, dry_run_summary, results_line
from .results import check_writable, sandbox_results, write_results
from .sandbox import SandboxConfig, running_sandbox, serve
from .schedule import (
    Clock,
    Sleeper,
    attach_windows,
    held_line,
    hold_closed,
    make_hold,
    schedule_lines,
    send_in_windows,
)
from .scope import origin
from .sender import (
    End,
    Limit,
    SendPolicy,
    SendReport,
    first_to_go,
    run_event_loop,
    select,
    send_rows,
    settled,
    show_sent,
)
from .slots import LocalSlots, Slots
from .windows import Opening, Windows, day_time

API_KEY_VARIABLE = "WOOXY_API_KEY"
API_URL_VARIABLE = "WOOXY_API_URL"
SANDBOX_TOKEN = "sandbox"
# Test-only: the instant (ISO 8601) the run's clock starts from, so subprocess tests of send
# windows do not depend on the machine's clock. In-process tests pass obj={"clock": ...} instead.
TEST_NOW_VARIABLE = "WOOXY_TEST_NOW"
REHEARSAL = SandboxConfig(tokens=(SANDBOX_TOKEN,))  # the sandbox `run --sandbox` starts


@dataclass(frozen=True)
class RunOptions:
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


@dataclass(frozen=True)
class Timing:
    """The run's clock (aware UTC datetimes) and sleeper: injected by tests, real otherwise."""

    clock: Clock
    sleep: Sleeper


def _timing(obj: Any) -> Timing:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wooxy-bulk")
def main() -> None:
    """Send bulk SMS campaigns from spreadsheets through the Wooxy Send SMS API.

    Start with a dry run: wooxy-bulk run CAMPAIGN.yaml --dry-run
    """
    interrupts.raising()  # SIGTERM as Ctrl-C: each command stops cleanly


@main.command()
@click.argument("campaign_file", metavar="CAMPAIGN", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Render and check everything; send nothing.")
@click.option(
    "--sandbox", is_flag=True, help="Send to a local fake of the API started for this run."
)
@click.option("--results", type=click.Path(path_type=Path), help="Results file (.xlsx or .csv).")
@click.option("--limit", type=click.IntRange(min=0), help="Send at most N messages in this run.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation before sending.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or progress lines.")
@click.option("--retry-failed", is_flag=True, help="Send again the rows that failed before.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again the rows whose outcome is unknown (they may have been delivered).",
)
@click.option(
    "--test-to",
    metavar="NUMBER",
    help="Send the first ready row's text to NUMBER only (your phone); the campaign is untouched.",
)
@click.option(
    "--test-count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --test-to: send the first N ready rows' texts.",
)
@click.option(
    "--no-dry-run-check",
    is_flag=True,
    help="Send without a dry run of the same plan first.",
)
@click.option(
    "--new-api-url",
    is_flag=True,
    help="The API URL is another service than the one the journal has sends through.",
)
@click.option(
    "--journal-from-results",
    is_flag=True,
    help="Rebuild a lost journal from the results sheet's sent rows and their sms_ids.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Keep running until every row is sent: sleep while all send windows are closed.",
)
@click.pass_context
def run(
    ctx: click.Context, campaign_file: Path, results: Path | None, **flags: bool | int | None
) -> None:
    """Send the campaign described by CAMPAIGN (a YAML file)."""
    options = RunOptions(**flags)  # type: ignore[arg-type]
    try:
        status = _run(campaign_file, results, options, _timing(ctx.obj))
    except WooxyBulkError as exc:
        _fail(str(exc), exc.exit_status)
    except KeyboardInterrupt:  # before sending began: _send handles it from then on
        _fail("interrupted; nothing was sent", ExitStatus.INTERRUPTED)
    sys.exit(status)


@main.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", multiple=True, help="Accepted Access-Token (repeatable; default sandbox).")
@click.option("--domain", multiple=True, help="Known domain (repeatable; default: any domain).")
@click.option("--blacklist", multiple=True, metavar="NUMBER", help="Blacklisted E.164 number.")
@click.option(
    "--balance", type=click.IntRange(min=0), help="Messages accepted before the balance error."
)
@click.option(
    "--latency-ms", default=0.0, type=click.FloatRange(min=0), help="Added to each answer."
)
@click.option("--fail-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of HTTP 500s.")
@click.option("--publish-error-rate", default=0.0, type=click.FloatRange(0, 1))
@click.option("--hang-rate", default=0.0, type=click.FloatRange(0, 1), help="Share never answered.")
@click.option(
    "--gateway-error-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share taken, then answered with a gateway's HTML 504.",
)
@click.option(
    "--delivery-delay-s",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds a message stays new before it is delivered or failed.",
)
@click.option(
    "--delivery-fail-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of accepted messages whose delivery fails.",
)
@click.option("--seed", type=int, help="Seed for the injected faults.")
def sandbox_command(
    host: str,
    port: int,
    token: tuple[str, ...],
    domain: tuple[str, ...],
    blacklist: tuple[str, ...],
    balance: int | None,
    latency_ms: float,
    fail_rate: float,
    publish_error_rate: float,
    hang_rate: float,
    gateway_error_rate: float,
    delivery_delay_s: float,
    delivery_fail_rate: float,
    seed: int | None,
) -> None:
    """Serve a local fake of the Wooxy API, for rehearsals and tests."""
    config = SandboxConfig(
        tokens=token or (SANDBOX_TOKEN,),
        domains=domain,
        blacklist=blacklist,
        balance=balance,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        publish_error_rate=publish_error_rate,
        hang_rate=hang_rate,
        gateway_error_rate=gateway_error_rate,
        seed=seed,
        delivery_delay_s=delivery_delay_s,
        delivery_fail_rate=delivery_fail_rate,
    )

    def ready(url: str) -> None:
        click.echo(f"Wooxy sandbox listening on {url}")
        click.echo("Point a campaign at it:")
        click.echo(f"  {API_URL_VARIABLE}={url} {API_KEY_VARIABLE}={config.tokens[0]} \\")
        click.echo("    wooxy-bulk run CAMPAIGN.yaml")
        click.echo("Messages: GET /sandbox/messages   Stats: GET /sandbox/stats   Ctrl-C stops it.")

    try:
        serve(config, host=host, port=port, on_ready=ready)
    except WooxyBulkError as exc:
        _fail(str(exc), exc.exit_status)
    click.echo("Sandbox stopped.")


@main.command("status")
@click.argument("campaign_file", metavar="CAMPAIGN", type=click.Path(path_type=Path))
@click.option(
    "--watch", is_flag=True, help="Ask again every --interval seconds until nothing is pending."
)
@click.option(
    "--interval",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds between checks with --watch.",
)
@click.option(
    "--timeout",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds after which --watch stops asking.",
)
@click.option("--results", type=click.Path(path_type=Path), help="Results file (.xlsx or .csv).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or progress lines.")
def status_command(
    campaign_file: Path,
    watch: bool,
    interval: float,
    timeout: float,
    results: Path | None,
    quiet: bool,
) -> None:
    """Fetch the delivery status of the campaign's sent messages into its results."""
    watching = Watch(interval_s=interval, timeout_s=timeout) if watch else None
    try:
        status = _status(campaign_file, results, watching, quiet)
    except WooxyBulkError as exc:
        _fail(str(exc), exc.exit_status)
    except KeyboardInterrupt:
        _fail("interrupted; the statuses fetched so far are kept", ExitStatus.INTERRUPTED)
    sys.exit(status)


def _ledger_options(command: Callable[..., None]) -> Callable[..., None]:
    """--ledger, --campaign and --region, shared by the optout commands."""
    command = click.option(
        "--region", help="Region (ISO 3166 alpha-2) for numbers without a country code."
    )(command)
    command = click.option(
        "--campaign",
        "campaign_file",
        type=click.Path(path_type=Path),
        help="Use this campaign's ledger (and its default_region).",
    )(command)
    return click.option(
        "--ledger",
        "ledger_location",
        metavar="PATH|URL",
        help="The ledger: a SQLite file or a postgresql:// URL (default: WOOXY_LEDGER, else"
        " .wooxy-bulk/ledger.sqlite here).",
    )(command)


@contextmanager
def _optout_ledger(
    ledger_location: str | None, campaign_file: Path | None, region: str | None
) -> Iterator[tuple[Ledger, str | None]]:
    """The optout command's ledger and region; our errors become messages and exit codes."""
    try:
        campaign = load_campaign(campaign_file) if campaign_file else None
        location = choose(ledger_location, campaign.ledger_location if campaign else None)
        with _ledger(location) as ledger:
            yield ledger, region or (campaign.default_region if campaign else None)
    except WooxyBulkError as exc:
        _fail(str(exc), exc.exit_status)


@main.group()
def optout() -> None:
    """The opt-out list: numbers suppressed in every campaign on the ledger."""


@optout.command("add")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--reason", default="", help="Why (kept with each number).")
@_ledger_options
def optout_add(numbers: tuple[str, ...], reason: str, **where: str | None) -> None:
    """Put NUMBER… on the opt-out list."""
    with _optout_ledger(**where) as (ledger, region):  # type: ignore[arg-type]
        entries = optouts.from_arguments(numbers, region, utc_now(), reason, "optout add")
        _report_added(ledger, entries)


@optout.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", default="", help="Why (kept with each number).")
@_ledger_options
def optout_import(file: Path, reason: str, **where: str | None) -> None:
    """Put every number of FILE (read like a suppress file) on the opt-out list."""
    with _optout_ledger(**where) as (ledger, region):  # type: ignore[arg-type]
        _report_added(ledger, optouts.from_file(file, region, utc_now(), reason))


def _report_added(ledger: Ledger, entries: list[optouts.OptOut]) -> None:
    added = ledger.add_optouts(entries)
    already = f" ({len(entries) - added} already on it)" if added < len(entries) else ""
    click.echo(f"{added} number(s) added to the opt-out list of {ledger.location}{already}")


@optout.command("remove")
@click.argument("numbers", nargs=-1, required=True)
@_ledger_options
def optout_remove(numbers: tuple[str, ...], **where: str | None) -> None:
    """Take NUMBER… off the opt-out list."""
    with _optout_ledger(**where) as (ledger, region):  # type: ignore[arg-type]
        entries = optouts.from_arguments(numbers, region, utc_now(), "", "")
        removed = ledger.remove_optouts([e.phone for e in entries])
        absent = f" ({len(entries) - removed} not on it)" if removed < len(entries) else ""
        where = ledger.location
        click.echo(f"{removed} number(s) removed from the opt-out list of {where}{absent}")


@optout.command("list")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout: phone,since,reason,source.")
@_ledger_options
def optout_list(as_csv: bool, **where: str | None) -> None:
    """Show the opt-out list, oldest first."""
    with _optout_ledger(**where) as (ledger, _):  # type: ignore[arg-type]
        entries = sorted(ledger.optouts().values(), key=lambda e: (e.since, e.phone))
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["phone", "since", "reason", "source"])
        for e in entries:
            writer.writerow([e.phone, e.since.isoformat(), e.reason, e.source])
        return
    for e in entries:
        since = e.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        click.echo("  ".join(filter(None, [e.phone.ljust(16), since, e.source, e.reason])))
    click.echo(f"{len(entries)} number(s) on the opt-out list of {ledger.location}", err=True)


@main.command("new")
@click.argument("contacts", type=click.Path(path_type=Path))
@click.option("--name", help="The campaign's name (default: from the contacts file's name).")
@click.option("--region", help="Country code of numbers written without one, e.g. GB.")
def new_command(contacts: Path, name: str | None, region: str | None) -> None:
    """Write NAME.yaml and NAME.txt.j2 for CONTACTS, guessing its columns."""
    try:
        found = _guess(contacts, region)
        campaign_name = scaffold.campaign_name(contacts, name)
        files = scaffold.write_files(found, campaign_name, Path.cwd())
    except WooxyBulkError as exc:
        _fail(str(exc), exc.exit_status)
    except (KeyboardInterrupt, click.Abort):
        _fail("interrupted; nothing was written", ExitStatus.INTERRUPTED)
    click.echo(f"Read {display_path(contacts)}:")
    click.echo("\n".join(f"  {reason}" for reason in found.reasons))
    click.echo("Wrote " + " and ".join(display_path(p.name) for p in files))
    campaign_file = files[0].name
    click.echo("Next: edit domain (and the message), then:")
    click.echo(f"  wooxy-bulk run {campaign_file} --dry-run    # see every text; sends nothing")
    click.echo(f"  wooxy-bulk run {campaign_file} --sandbox    # rehearse against a local fake API")
    click.echo(f"  wooxy-bulk run {campaign_file}              # send (WOOXY_API_KEY set)")


def _guess(contacts: Path, region: str | None) -> scaffold.Guess:
    try:
        return scaffold.guess(contacts, region)
    except scaffold.RegionNeeded:
        if region or not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise
    asked = click.prompt("Country code of the numbers written without one (e.g. GB)")
    return scaffold.guess(contacts, asked)


def _fail(message: str, status: ExitStatus) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(status)


def _run(path: Path, results: Path | None, options: RunOptions, timing: Timing) -> ExitStatus:
    if options.test_to is not None and options.dry_run:
        raise InputError("--test-to sends a test message; --dry-run sends nothing: choose one")
    campaign = load_campaign(path)
    if results is not None:
        campaign = with_results(campaign, results)
    if options.sandbox:  # a rehearsal never writes over the real sms_ids
        campaign = campaign.model_copy(update={"results": sandbox_results(campaign.results_path)})
    token = SANDBOX_TOKEN if options.dry_run or options.sandbox else _api_key()
    api_url = "" if options.sandbox else _api_url(campaign)
    plan = prepare(campaign)
    windows = attach_windows(campaign, plan)
    if options.test_to is None:
        check_writable(campaign.results_path, len(plan.rows))
    with _ledger(choose(None, campaign.ledger_location)) as ledger:
        if options.dry_run:
            scope = scopes.SANDBOX if options.sandbox else scopes.scope(api_url)
            _show_what_was_sent(campaign, plan, scope, options)
            suppress(plan.with_status(Status.READY), ledger, scope, *_cap(campaign))
            held = hold_closed(plan.rows, windows, timing.clock()) if windows else []
            click.echo(dry_run_summary(plan, prices=campaign.prices))
            for line in schedule_lines(plan.counts()[Status.READY], held):
                click.echo(line)
            _write(campaign, plan, failure=InputError)
            dryrun.record(campaign, datetime.now(UTC))
            click.echo(results_line(campaign.results_path))
            return ExitStatus.OK
        if options.test_to is not None:
            return _test_send(campaign, plan, options, api_url, token)
        if not (options.sandbox or options.no_dry_run_check):
            dryrun.check(campaign)
        return _send(campaign, plan, options, api_url, token, ledger, windows, timing)


@contextmanager
def _ledger(location: str | Path) -> Iterator[Ledger]:
    ledger = open_ledger(location)
    try:
        yield ledger
    finally:
        ledger.close()


def _cap(campaign: Campaign) -> tuple[Cap | None, datetime]:
    cap = campaign.frequency_cap
    return (Cap(cap.messages, cap.hours) if cap else None), utc_now()


def _api_key() -> str:
    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not key:
        raise InputError(
            f"{API_KEY_VARIABLE} is not set: export your Wooxy API key in it"
            " (or rehearse with --sandbox, or check with --dry-run)"
        )
    return key


def _api_url(campaign: Campaign) -> str:
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


def _show_what_was_sent(campaign: Campaign, plan: Plan, scope: str, options: RunOptions) -> None:
    """The dry run's rows sent before: `sent` with their sms_id, as the journal has them."""
    if not campaign.journal_path.exists() and not options.journal_from_results:
        entries: dict[str, Entry] = {}
        missing = recovery.sent_rows(campaign.results_path)
        if missing:
            raise recovery.lost_journal(
                campaign.results_path, campaign.journal_path, len(missing), 0
            )
    else:
        with _open_journal(campaign, scope, options) as journal:
            entries = _remembered(journal, campaign, options)
    show_sent(plan.rows, entries)


def _open_journal(campaign: Campaign, scope: str, options: RunOptions) -> Journal:
    """The campaign's journal; with --journal-from-results, an unreadable one is set aside."""
    try:
        return Journal(campaign.journal_path, scope)
    except UnreadableJournal:
        if not options.journal_from_results:
            raise
    aside = campaign.journal_path.with_name(campaign.journal_path.name + ".unreadable")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{campaign.journal_path}{suffix}")
        if source.exists():
            source.replace(f"{aside}{suffix}")
    click.echo(f"Set the unreadable journal aside as {display_path(aside)}")
    return Journal(campaign.journal_path, scope)


def _remembered(journal: Journal, campaign: Campaign, options: RunOptions) -> dict[str, Entry]:
    """The journal's entries, once checked against the results sheet (a lost journal) and the
    other API URLs it has sent through."""
    if not options.new_api_url:
        recovery.check_api_url(journal.sent_elsewhere(), journal.scope)
    entries = journal.entries()
    results = campaign.results_path
    missing = recovery.unjournaled(recovery.sent_rows(results), entries)
    if not missing:
        return entries
    known = sum(e.state is JState.SENT for e in entries.values())
    if not options.journal_from_results:
        raise recovery.lost_journal(results, journal.path, len(missing), known)
    count = journal.record_sent((r.phone, r.row, r.sms_id, r.text) for r in missing)
    click.echo(f"Rebuilt the journal from {display_path(results)}: {count} messages sent before")
    return journal.entries()


def _send(
    campaign: Campaign,
    plan: Plan,
    options: RunOptions,
    api_url: str,
    token: str,
    ledger: Ledger,
    windows: Windows | None = None,
    timing: Timing | None = None,
) -> ExitStatus:
    timing = timing or _timing(None)
    with (
        _endpoint(options, api_url) as (url, scope),
        _open_journal(campaign, scope, options) as journal,
    ):
        entries = _remembered(journal, campaign, options)
        reconcile(ledger, scope, campaign.name, entries)
        cap, now = _cap(campaign)
        done = {
            p
            for p, e in entries.items()
            if settled(e.state, options.retry_failed, options.resend_unknown)
        }
        fresh = [r for r in plan.with_status(Status.READY) if r.phone not in done]
        suppress(fresh, ledger, scope, cap, now)
        selection = select(
            plan.rows,
            entries,
            retry_failed=options.retry_failed,
            resend_unknown=options.resend_unknown,
        )
        rows = selection.to_send
        sending = ledger.for_sending(scope, campaign.name, cap, utc_now)
        hold = make_hold(windows, timing.clock)
        going = first_to_go(rows, options.limit, hold)
        if going:
            account, account_line = _read_account(campaign, url, token)
            if options.yes or options.sandbox:
                click.echo(account_line)
            if account is not None:  # with prices: an estimate over the balance sends nothing
                check_balance(going, campaign.prices, account.balance)
            if not (options.yes or options.sandbox):
                summary = confirmation(campaign, plan, going, url, selection.skipped, account_line)
                held = sum(hold(row) is not None for row in going) if hold else 0
                _confirm(summary + (f"\nHeld by send windows now: {held}" if held else ""))
        started = time.monotonic()
        report = SendReport()
        try:
            with make_progress(len(going), quiet=options.quiet, stream=sys.stderr) as progress:
                report = run_event_loop(
                    _send_async(
                        campaign,
                        rows,
                        journal,
                        sending,
                        url,
                        token,
                        progress,
                        windows=windows,
                        wait=options.wait,
                        limit=options.limit,
                        timing=timing,
                    )
                )
        except (asyncio.CancelledError, KeyboardInterrupt):  # a second Ctrl-C
            report.end = End.INTERRUPTED
        finally:
            with interrupts.held() as interrupted:  # the results are written whole
                _write(campaign, plan)
                if interrupted():
                    report.end = End.INTERRUPTED
        elapsed = time.monotonic() - started
        if options.sandbox and report.end is End.FINISHED and report.sent:
            _rehearsal_check(campaign, plan, journal, url, token, time.monotonic())
    sent_now = sum(r.status is Status.SENT for r in rows)  # counted whatever ended the run
    click.echo(closing_summary(plan, elapsed, sent_now, campaign.results_path))
    if line := held_line(report.held, windows, timing.clock()):
        click.echo(line)
    if options.sandbox and report.sent:
        click.echo(delivery_line(plan))
    return _conclusion(plan, report)


def _read_account(campaign: Campaign, url: str, token: str) -> tuple[Account | None, str]:
    """The account before a send, and its line for the confirmation or the run's first lines.

    An account error raises AccountError (exit 3, nothing sent); a call that fails is said, and
    the send goes on (its own "Insufficient balance" answer would still stop it).
    """

    async def read() -> Account:
        slots = _slots(campaign, token, url)
        try:
            async with _api(campaign, url, token) as api, slots.slot():
                return await read_account(api)
        finally:
            await _close_slots(slots)

    try:
        account = run_event_loop(read())
    except AccountUnavailable as exc:
        return None, f"Account:     could not be read ({exc}); sending anyway"
    return account, f"Account:     {account.name or '(no name)'}, balance {account.balance:.2f}"


def _rehearsal_check(
    campaign: Campaign, plan: Plan, journal: Journal, url: str, token: str, sent_at: float
) -> None:
    """`run --sandbox` ends with one status check, once the sandbox's delivery delay has passed
    (so the rehearsal's results show delivered and failed, not pending)."""
    try:
        time.sleep(max(0.0, REHEARSAL.delivery_delay_s - (time.monotonic() - sent_at)))
        _check_statuses(campaign, plan, journal, url, token, None, quiet=True)
    except KeyboardInterrupt:
        return
    finally:
        _write(campaign, plan)


def _test_send(
    campaign: Campaign, plan: Plan, options: RunOptions, api_url: str, token: str
) -> ExitStatus:
    number = testsend.recipient(campaign, options.test_to or "")
    rows = testsend.rows_for(plan, number, options.test_count)
    started = datetime.now(UTC)

    def journal(index: int) -> Journal:
        return Journal(testsend.journal_path(campaign), testsend.scope(scope, started, index))

    def shown(row: PlanRow) -> None:
        outcome = f"sms_id {row.sms_id}" if row.sms_id else row.error
        click.echo(f"Test {row.status.value}: row {row.row}'s text to {row.phone}: {outcome}")

    with _endpoint(options, api_url) as (url, scope):
        click.echo(f"Sending {len(rows)} test message(s) to {number} through {url}")
        report = run_event_loop(_send_async(campaign, rows, journal, None, url, token, shown))
    if report.end is End.STOPPED:
        click.echo(f"Stopped: {report.reason}", err=True)
        return ExitStatus.STOPPED
    if report.end is End.INTERRUPTED:
        return ExitStatus.INTERRUPTED
    click.echo("The campaign's journal and results are untouched.")
    return ExitStatus.ROWS_FAILED if report.failed or report.unknown else ExitStatus.OK


@contextmanager
def _endpoint(options: RunOptions, api_url: str) -> Iterator[tuple[str, str]]:
    """The API URL to send to and the journal scope it belongs to."""
    if not options.sandbox:
        yield api_url, _scope(api_url)
        return
    with running_sandbox(REHEARSAL) as box:
        yield box.url, scopes.SANDBOX


def _scope(api_url: str) -> str:
    """The journal scope of sends to `api_url` (`run` and `status` agree on it)."""
    return scopes.scope(api_url)


def _confirm(summary: str) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError(
            "there is no terminal to confirm the send: add --yes to send without asking"
        )
    click.echo(summary)
    try:
        confirmed = click.confirm("Send now?", default=False)
    except click.Abort:  # Ctrl-C (or the end of input) at the prompt
        raise KeyboardInterrupt from None
    if not confirmed:
        raise WooxyBulkError("not confirmed; nothing was sent")


async def _send_async(
    campaign: Campaign,
    rows: list[PlanRow],
    journal: Journal | Callable[[int], Journal],
    sending: SendLedger | None,
    url: str,
    token: str,
    progress: Callable[[PlanRow], None],
    *,
    windows: Windows | None = None,
    wait: bool = False,
    limit: int | None = None,
    timing: Timing | None = None,
) -> SendReport:
    """Send `rows` with the campaign's client and policy, at most `limit` messages; a journal
    factory makes a test send. The ledger's send side (none for a test send) reserves and
    records each message."""
    policy = SendPolicy(
        concurrency=campaign.api.concurrency, max_attempts=campaign.api.max_attempts
    )
    slots = _slots(campaign, token, url)
    try:
        async with (
            _stop_on_signals() as stop,
            open_post(timeout_s=campaign.api.timeout_s, concurrency=policy.concurrency) as post,
        ):
            client = WooxyClient(
                post,
                url=url,
                token=token,
                domain=campaign.domain,
                from_name=campaign.from_name,
                tags=campaign.tags,
            )
            if not isinstance(journal, Journal):
                return await testsend.send_tests(
                    rows, client, journal, policy, on_row=progress, slots=slots
                )
            timing = timing or _timing(None)
            hold = make_hold(windows, timing.clock)
            most = Limit(limit) if limit is not None else None  # one count over --wait's rounds

            def send(batch: Sequence[PlanRow]) -> Awaitable[SendReport]:
                return send_rows(
                    batch,
                    client,
                    journal,
                    policy,
                    on_row=progress,
                    stop=stop,
                    slots=slots,
                    ledger=sending,
                    hold=hold,
                    limit=most,
                )

            def waiting(count: int, opening: Opening) -> None:
                assert opening.at is not None and isinstance(progress, Progress)
                progress.note(
                    f"waiting: {count:,} {'row waits' if count == 1 else 'rows wait'}"
                    " for their send window, until"
                    f" {day_time(opening.at)} UTC ({opening.local()})"
                )

            return await send_in_windows(
                send,
                rows,
                windows,
                wait=wait,
                clock=timing.clock,
                sleep=timing.sleep,
                stop=stop,
                on_wait=waiting,
            )
    finally:
        await _close_slots(slots)
        if sending is not None:
            await sending.aclose()  # the outcomes noted last


def _slots(campaign: Campaign, token: str, url: str) -> Slots:
    """The account's request slots: in the database of a PostgreSQL ledger (every machine of
    the team shares them), else this machine's lock files."""
    location = choose(None, campaign.ledger_location)
    return request_slots(location, token, origin(url)) or LocalSlots.for_account(token, url)


async def _close_slots(slots: Slots) -> None:
    if isinstance(slots, PostgresSlots):
        await slots.aclose()  # the database lets every slot of the connection go
    else:
        slots.close()  # type: ignore[attr-defined]


def _conclusion(plan: Plan, report: SendReport) -> ExitStatus:
    if report.end is End.INTERRUPTED:
        click.echo(
            "Interrupted: the rows not reached are not_sent; run again to send them.", err=True
        )
        return ExitStatus.INTERRUPTED
    counts = plan.counts()
    if report.unreached:
        click.echo(
            f"{report.unreached} messages never reached the API (see their error); they are"
            " not_sent: run again to send them.",
            err=True,
        )
    if report.end is End.STOPPED:
        retry = " (add --retry-failed to send the failed rows again)" if report.failed else ""
        click.echo(
            f"Stopped: {report.reason}\nFix this and run again{retry}: the rows sent are"
            " journaled and will not be sent twice.",
            err=True,
        )
        return ExitStatus.STOPPED
    if counts[Status.FAILED] or counts[Status.UNKNOWN] or report.unreached:
        return ExitStatus.ROWS_FAILED
    return ExitStatus.OK


def _status(path: Path, results: Path | None, watch: Watch | None, quiet: bool) -> ExitStatus:
    campaign = load_campaign(path)
    if results is not None:
        campaign = with_results(campaign, results)
    token, url = _api_key(), _api_url(campaign)
    plan = prepare(campaign)
    with Journal(campaign.journal_path, _scope(url)) as journal:
        select(plan.rows, journal.entries())
        if not plan.with_status(Status.SENT):
            click.echo(f"No message of this campaign was sent to {url}: nothing to ask.")
            return ExitStatus.OK
        try:
            report = _check_statuses(campaign, plan, journal, url, token, watch, quiet)
        finally:
            _write(campaign, plan)
    click.echo(delivery_line(plan))
    click.echo(results_line(campaign.results_path))
    pending = sum(is_pending(r.delivery) for r in plan.rows)
    if watch is not None and report.end is End.FINISHED and pending:
        click.echo(f"Still pending after the --timeout of {watch.timeout_s:g} s: {pending}.")
    return _status_conclusion(report)


def _check_statuses(
    campaign: Campaign,
    plan: Plan,
    journal: Journal,
    url: str,
    token: str,
    watch: Watch | None,
    quiet: bool,
) -> CheckReport:
    """Ask the delivery status of the plan's sent rows (journal and rows updated per batch)."""
    words, by_id = sent_words(plan.rows)
    tallies: list[Tally] = []

    def on_round(ids: int) -> None:
        if tallies:
            tallies.pop().close()
        tallies.append(Tally(ids, unit="id", quiet=quiet, stream=sys.stderr))

    def on_batch(count: int) -> None:
        tallies[-1].advance(count, figures(words))

    record = recorder(journal, by_id, lambda: datetime.now(UTC), on_batch)
    policy = SendPolicy(
        concurrency=campaign.api.concurrency, max_attempts=campaign.api.max_attempts
    )

    async def check() -> CheckReport:
        slots = _slots(campaign, token, url)
        try:
            async with _stop_on_signals() as stop, _api(campaign, url, token) as api:
                return await check_deliveries(
                    words,
                    api,
                    policy,
                    record=record,
                    slots=slots,
                    stop=stop,
                    watch=watch,
                    on_round=on_round,
                )
        finally:
            await _close_slots(slots)

    try:
        return run_event_loop(check())
    except asyncio.CancelledError:
        return CheckReport(end=End.INTERRUPTED)
    finally:
        for tally in tallies:
            tally.close()


@asynccontextmanager
async def _api(campaign: Campaign, url: str, token: str) -> AsyncIterator[Api]:
    """The API at `url` over one HTTP session, for the campaign's timeout and concurrency."""
    async with open_post(
        timeout_s=campaign.api.timeout_s, concurrency=campaign.api.concurrency
    ) as post:
        yield Api(post, url=url, token=token)


@asynccontextmanager
async def _stop_on_signals() -> AsyncIterator[asyncio.Event]:
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


def _status_conclusion(report: CheckReport) -> ExitStatus:
    if report.end is End.INTERRUPTED:
        click.echo("Interrupted: the statuses fetched so far are kept.", err=True)
        return ExitStatus.INTERRUPTED
    if report.end is End.STOPPED:
        click.echo(f"Stopped: {report.reason}", err=True)
        return ExitStatus.STOPPED
    if report.gave_up:
        click.echo(
            f"{report.gave_up} requests got no answer after every attempt (the last:"
            f" {report.last_error}); run status again to ask for them.",
            err=True,
        )
        return ExitStatus.ROWS_FAILED
    return ExitStatus.OK


def _write(campaign: Campaign, plan: Plan, failure: type[WooxyBulkError] = ResultsError) -> None:
    """Write the results; a failure after sending is ResultsError (exit 1), before it InputError."""
    try:
        write_results(campaign.results_path, plan)
    except OSError as exc:
        raise failure(
            f"{display_path(campaign.results_path)}: cannot write the results ({exc.strerror});"
            " close it if it is open in Excel, or pick another file with --results."
            " The journal keeps every outcome: a re-run writes them without sending anything twice"
        ) from None
