"""`wooxy-bulk run`: check a campaign, then rehearse it (--dry-run, --sandbox), test it on one
phone (--test-to) or send it (`send.py`)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from .. import dryrun
from ..campaign import Campaign
from ..errors import ExitStatus, InputError, WooxyBulkError
from ..ledger import choose
from ..ledger.check import suppress
from ..plan.rows import Plan, PlanRow, Status, prepare
from ..plan.schedule import attach_windows, hold_closed, schedule_lines
from ..plan.windows import Windows
from ..report import dry_run_summary, results_line
from ..results import check_writable, sandbox_results
from ..send import scope as scopes
from ..send import testsend
from ..send.journal import Journal
from ..send.sender import End, SendReport, run_event_loop
from .journaling import show_what_was_sent
from .send import send
from .shared import (
    SANDBOX_TOKEN,
    RunOptions,
    Timing,
    api_key,
    api_url,
    cap,
    connect,
    endpoint,
    fail,
    ledger_at,
    load,
    policy,
    stop_on_signals,
    timing,
    write,
)


@click.command()
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
        status = _run(campaign_file, results, options, timing(ctx.obj))
    except WooxyBulkError as exc:
        fail(str(exc), exc.exit_status)
    except KeyboardInterrupt:  # before sending began: _send handles it from then on
        fail("interrupted; nothing was sent", ExitStatus.INTERRUPTED)
    sys.exit(status)


def _run(path: Path, results: Path | None, options: RunOptions, timing: Timing) -> ExitStatus:
    if options.test_to is not None and options.dry_run:
        raise InputError("--test-to sends a test message; --dry-run sends nothing: choose one")
    campaign = load(path, results)
    if options.sandbox:  # a rehearsal never writes over the real sms_ids
        campaign = campaign.model_copy(update={"results": sandbox_results(campaign.results_path)})
    token = SANDBOX_TOKEN if options.dry_run or options.sandbox else api_key()
    url = "" if options.sandbox else api_url(campaign)
    plan = prepare(campaign)
    windows = attach_windows(campaign, plan)
    if options.test_to is None:
        check_writable(campaign.results_path, len(plan.rows))
    with ledger_at(choose(None, campaign.ledger_location)) as ledger:
        if options.dry_run:
            scope = scopes.SANDBOX if options.sandbox else scopes.scope(url)
            show_what_was_sent(campaign, plan, scope, options)
            suppress(plan.with_status(Status.READY), ledger, scope, *cap(campaign))
            _dry_run(campaign, plan, windows, timing)
            return ExitStatus.OK
        if options.test_to is not None:
            return _test_send(campaign, plan, options, url, token)
        if not (options.sandbox or options.no_dry_run_check):
            dryrun.check(campaign)
        return send(campaign, plan, options, url, token, ledger, windows, timing)


def _dry_run(campaign: Campaign, plan: Plan, windows: Windows | None, timing: Timing) -> None:
    """Say what a send would do, write the results with it and remember the plan checked."""
    held = hold_closed(plan.rows, windows, timing.clock()) if windows else []
    click.echo(dry_run_summary(plan, prices=campaign.prices))
    for line in schedule_lines(plan.counts()[Status.READY], held):
        click.echo(line)
    write(campaign, plan, failure=InputError)
    dryrun.record(campaign, datetime.now(UTC))
    click.echo(results_line(campaign.results_path))


def _test_send(
    campaign: Campaign, plan: Plan, options: RunOptions, url: str, token: str
) -> ExitStatus:
    """--test-to: the first ready rows' texts to one number, journaled apart from the campaign."""
    number = testsend.recipient(campaign, options.test_to or "")
    rows = testsend.rows_for(plan, number, options.test_count)
    started = datetime.now(UTC)

    def shown(row: PlanRow) -> None:
        outcome = f"sms_id {row.sms_id}" if row.sms_id else row.error
        click.echo(f"Test {row.status.value}: row {row.row}'s text to {row.phone}: {outcome}")

    with endpoint(options.sandbox, url) as (target, scope):

        def journal(index: int) -> Journal:
            return Journal(testsend.journal_path(campaign), testsend.scope(scope, started, index))

        async def send_tests() -> SendReport:
            async with stop_on_signals(), connect(campaign, target, token) as connection:
                return await testsend.send_tests(
                    rows,
                    connection.client(campaign),
                    journal,
                    policy(campaign),
                    on_row=shown,
                    slots=connection.slots,
                )

        click.echo(f"Sending {len(rows)} test message(s) to {number} through {target}")
        report = run_event_loop(send_tests())
    if report.end is End.STOPPED:
        click.echo(f"Stopped: {report.reason}", err=True)
        return ExitStatus.STOPPED
    if report.end is End.INTERRUPTED:
        return ExitStatus.INTERRUPTED
    click.echo("The campaign's journal and results are untouched.")
    return ExitStatus.ROWS_FAILED if report.failed or report.unknown else ExitStatus.OK
