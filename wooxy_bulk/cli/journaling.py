"""The campaign's journal as `run` opens it: checked against the results sheet (a lost journal)
and against the other API URLs it has sent through, rebuilt with --journal-from-results."""

from __future__ import annotations

from pathlib import Path

import click

from ..campaign import Campaign
from ..errors import display_path
from ..plan.rows import Plan
from ..send import recovery
from ..send.journal import Entry, Journal, JState, UnreadableJournal
from ..send.sender import show_sent
from .shared import RunOptions


def open_journal(campaign: Campaign, scope: str, options: RunOptions) -> Journal:
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


def remembered(journal: Journal, campaign: Campaign, options: RunOptions) -> dict[str, Entry]:
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


def show_what_was_sent(campaign: Campaign, plan: Plan, scope: str, options: RunOptions) -> None:
    """The dry run's rows sent before: `sent` with their sms_id, as the journal has them."""
    if not campaign.journal_path.exists() and not options.journal_from_results:
        entries: dict[str, Entry] = {}
        missing = recovery.sent_rows(campaign.results_path)
        if missing:
            raise recovery.lost_journal(
                campaign.results_path, campaign.journal_path, len(missing), 0
            )
    else:
        with open_journal(campaign, scope, options) as journal:
            entries = remembered(journal, campaign, options)
    show_sent(plan.rows, entries)
