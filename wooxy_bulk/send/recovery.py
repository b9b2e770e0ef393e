"""The results sheet as the journal's backup: a lost journal is noticed before anyone is sent twice.

The journal is the campaign's memory. Deleted, emptied, or left behind when the campaign folder
was copied, a run would send everyone again, while the results sheet beside it lists every sent
message with its sms_id. So when the journal knows nothing of a scope, the sheet's `sent` rows
are read (with the contacts readers): any there stop the run, unless ``--journal-from-results``
journals them as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from ..contacts import open_contacts
from ..errors import InputError, display_path, located
from .journal import Entry, JState
from .scope import is_loopback_scope

_NEEDED = ("row", "phone_e164", "status", "sms_id", "text")


@dataclass(frozen=True, slots=True)
class SentRow:
    """A row that a results sheet records as sent."""

    phone: str
    row: int
    sms_id: str
    text: str


def sent_rows(path: Path) -> list[SentRow]:
    """The rows `path` (a results sheet, .xlsx or .csv) records as sent with an sms_id; none if
    there is no such file."""
    if not path.is_file():
        return []
    xlsx = path.suffix.lower() == ".xlsx"
    if not (_summary_counts_sent(path) if xlsx else _mentions_sent(path)):
        return []
    try:
        sheet = open_contacts(path, "Results" if xlsx else None)
    except InputError as exc:
        raise located(path, f"cannot read the results sheet ({exc})") from None
    columns = sheet.columns
    if any(name not in columns for name in _NEEDED):
        return []  # not a results sheet of ours
    at = {name: len(columns) - 1 - columns[::-1].index(name) for name in _NEEDED}
    found = []
    for _, cells in sheet.rows():
        phone = cells[at["phone_e164"]].lstrip("'")
        if cells[at["status"]] == "sent" and cells[at["sms_id"]] and phone:
            row = int(cells[at["row"]]) if cells[at["row"]].isdigit() else 0
            found.append(SentRow(phone, row, cells[at["sms_id"]], cells[at["text"]].lstrip("'")))
    return found


def _mentions_sent(path: Path) -> bool:
    """Whether a CSV sheet has the word sent as a cell at all: a quick look before reading it."""
    try:
        return b",sent," in path.read_bytes()
    except OSError:
        return True


def _summary_counts_sent(path: Path) -> bool:
    """Whether an XLSX sheet's Summary counts sent rows (or has no Summary to ask): reading it
    is much quicker than reading every row of a dry run's sheet."""
    try:
        summary = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Summary")
        rows = summary.to_python()
    except (CalamineError, ValueError, OSError):
        return True
    return any(row and row[0] == "sent" for row in rows)


def unjournaled(sent: list[SentRow], entries: dict[str, Entry]) -> list[SentRow]:
    """The sheet's sent rows that the journal does not have as sent."""
    return [r for r in sent if (e := entries.get(r.phone)) is None or e.state is not JState.SENT]


def lost_journal(results: Path, journal: Path, missing: int, known: int) -> InputError:
    """The stop before sending when the sheet knows of sends that the journal does not."""
    what = (
        "has none of them (it is missing, empty, or was not copied with the campaign)"
        if known == 0
        else f"does not have {missing} of them as sent"
    )
    return located(
        results,
        f"the results sheet records {missing} sent messages, but the journal"
        f" {display_path(journal)} {what}; nothing was sent. Add --journal-from-results to"
        " rebuild the journal from the sheet (or, if this run goes to another API URL than"
        " those sends, write its results elsewhere with --results)",
    )


def check_api_url(sent_elsewhere: dict[str, int], scope: str) -> None:
    """Stop a send to a real API URL while messages were sent through another real one: another
    spelling of one service must not send everyone again (--new-api-url confirms it is not)."""
    if is_loopback_scope(scope):
        return
    others = {
        s: n
        for s, n in sent_elsewhere.items()
        if s.startswith(("http://", "https://")) and not is_loopback_scope(s)
    }
    if not others:
        return
    url, count = max(others.items(), key=lambda item: item[1])
    raise InputError(
        f"the journal has {count} messages sent through {url}, and this run sends through"
        f" {scope}. If that is the same service, set api.url (or WOOXY_API_URL) to {url};"
        " if it is another service, add --new-api-url"
    )
