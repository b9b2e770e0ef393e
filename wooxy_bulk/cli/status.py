"""`wooxy-bulk status`: the delivery status of a campaign's sent messages, into its results."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from ..campaign import Campaign
from ..delivery import (
    CheckReport,
    Watch,
    check_deliveries,
    figures,
    is_pending,
    recorder,
    sent_words,
)
from ..errors import ExitStatus, WooxyBulkError
from ..plan.rows import Plan, Status, prepare
from ..report import delivery_line, results_line
from ..send.journal import Journal
from ..send.scope import scope
from ..send.sender import End, run_event_loop, select
from .progress import Tally
from .shared import api_key, api_url, connect, fail, load, policy, stop_on_signals, write


@click.command("status")
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
        fail(str(exc), exc.exit_status)
    except KeyboardInterrupt:
        fail("interrupted; the statuses fetched so far are kept", ExitStatus.INTERRUPTED)
    sys.exit(status)


def _status(path: Path, results: Path | None, watch: Watch | None, quiet: bool) -> ExitStatus:
    campaign = load(path, results)
    token, url = api_key(), api_url(campaign)
    plan = prepare(campaign)
    with Journal(campaign.journal_path, scope(url)) as journal:
        select(plan.rows, journal.entries())
        if not plan.with_status(Status.SENT):
            click.echo(f"No message of this campaign was sent to {url}: nothing to ask.")
            return ExitStatus.OK
        try:
            report = check_statuses(campaign, plan, journal, url, token, watch, quiet)
        finally:
            write(campaign, plan)
    click.echo(delivery_line(plan))
    click.echo(results_line(campaign.results_path))
    pending = sum(is_pending(r.delivery) for r in plan.rows)
    if watch is not None and report.end is End.FINISHED and pending:
        click.echo(f"Still pending after the --timeout of {watch.timeout_s:g} s: {pending}.")
    return _conclusion(report)


def check_statuses(
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

    async def check() -> CheckReport:
        async with stop_on_signals() as stop, connect(campaign, url, token) as connection:
            return await check_deliveries(
                words,
                connection.api(),
                policy(campaign),
                record=record,
                slots=connection.slots,
                stop=stop,
                watch=watch,
                on_round=on_round,
            )

    try:
        return run_event_loop(check())
    except asyncio.CancelledError:
        return CheckReport(end=End.INTERRUPTED)
    finally:
        for tally in tallies:
            tally.close()


def _conclusion(report: CheckReport) -> ExitStatus:
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
