"""`wooxy-bulk optout add|import|remove|list`: the ledger's opt-out list, shared by every
campaign on the ledger."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

import click

from ..campaign import load_campaign
from ..errors import WooxyBulkError, display_path
from ..ledger import Ledger, choose, not_made_yet, utc_now
from ..plan import optout as optouts
from .shared import fail, ledger_at


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
    ledger_location: str | None,
    campaign_file: Path | None,
    region: str | None,
    *,
    create: bool = True,
) -> Iterator[tuple[Ledger | None, str | None, str]]:
    """The optout command's ledger, region and the ledger's name for messages; our errors
    become messages and exit codes. With `create` false, a SQLite ledger that does not exist
    yet is None (listing or removing has nothing to do there) and is not created."""
    try:
        campaign = load_campaign(campaign_file) if campaign_file else None
        location = choose(ledger_location, campaign.ledger_location if campaign else None)
        region = region or (campaign.default_region if campaign else None)
        if not create and not_made_yet(location):
            yield None, region, f"{display_path(location)} (no ledger there yet)"
            return
        with ledger_at(location) as ledger:
            yield ledger, region, ledger.location
    except WooxyBulkError as exc:
        fail(str(exc), exc.exit_status)


@click.group()
def optout() -> None:
    """The opt-out list: numbers suppressed in every campaign on the ledger."""


@optout.command("add")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--reason", default="", help="Why (kept with each number).")
@_ledger_options
def optout_add(numbers: tuple[str, ...], reason: str, **where: str | None) -> None:
    """Put NUMBER… on the opt-out list."""
    with _optout_ledger(**where) as (ledger, region, _):  # type: ignore[arg-type]
        entries = optouts.from_arguments(numbers, region, utc_now(), reason, "optout add")
        _report_added(ledger, entries)


@optout.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", default="", help="Why (kept with each number).")
@_ledger_options
def optout_import(file: Path, reason: str, **where: str | None) -> None:
    """Put every number of FILE (read like a suppress file) on the opt-out list."""
    with _optout_ledger(**where) as (ledger, region, _):  # type: ignore[arg-type]
        _report_added(ledger, optouts.from_file(file, region, utc_now(), reason))


def _report_added(ledger: Ledger | None, entries: list[optouts.OptOut]) -> None:
    assert ledger is not None  # created where it did not exist
    added = ledger.add_optouts(entries)
    already = f" ({len(entries) - added} already on it)" if added < len(entries) else ""
    click.echo(f"{added} number(s) added to the opt-out list of {ledger.location}{already}")


@optout.command("remove")
@click.argument("numbers", nargs=-1, required=True)
@_ledger_options
def optout_remove(numbers: tuple[str, ...], **where: str | None) -> None:
    """Take NUMBER… off the opt-out list."""
    with _optout_ledger(**where, create=False) as (ledger, region, name):  # type: ignore[arg-type]
        entries = optouts.from_arguments(numbers, region, utc_now(), "", "")
        removed = ledger.remove_optouts([e.phone for e in entries]) if ledger else 0
        absent = f" ({len(entries) - removed} not on it)" if removed < len(entries) else ""
        click.echo(f"{removed} number(s) removed from the opt-out list of {name}{absent}")


@optout.command("list")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout: phone,since,reason,source.")
@_ledger_options
def optout_list(as_csv: bool, **where: str | None) -> None:
    """Show the opt-out list, oldest first."""
    with _optout_ledger(**where, create=False) as (ledger, _, name):  # type: ignore[arg-type]
        listed = ledger.optouts().values() if ledger else []
        entries = sorted(listed, key=lambda e: (e.since, e.phone))
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["phone", "since", "reason", "source"])
        for e in entries:
            writer.writerow([e.phone, e.since.isoformat(), e.reason, e.source])
        return
    for e in entries:
        since = e.since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        click.echo("  ".join(filter(None, [e.phone.ljust(16), since, e.source, e.reason])))
    click.echo(f"{len(entries)} number(s) on the opt-out list of {name}", err=True)
