"""The plan's side of the ledger: opted-out numbers and numbers at the frequency cap are
`suppressed`, decided in bulk (two queries for the whole sheet, not one a row)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from ..plan.rows import PlanRow, Status
from ..send.journal import Entry, JState
from . import Cap, Ledger, optout_error


def suppress(
    rows: Sequence[PlanRow], ledger: Ledger, scope: str, cap: Cap | None, now: datetime
) -> list[PlanRow]:
    """Mark the rows on the opt-out list or at the cap `suppressed`; return the others."""
    optouts = ledger.optouts()
    capped = ledger.over_cap(scope, cap, now) if cap is not None else {}
    if not optouts and not capped:
        return list(rows)
    kept: list[PlanRow] = []
    for row in rows:
        entry = optouts.get(row.phone)
        error = optout_error(entry) if entry is not None else capped.get(row.phone)
        if error is None:
            kept.append(row)
        else:
            row.status, row.error = Status.SUPPRESSED, error
    return kept


def reconcile(ledger: Ledger, scope: str, campaign: str, entries: Mapping[str, Entry]) -> None:
    """Add the journal's sent messages that the ledger lacks (a run killed before its last
    outcomes reached the ledger); a no-op, one count, when they agree."""
    sent = [e for e in entries.values() if e.state is JState.SENT]
    if sent and ledger.count(scope, campaign) < len(sent):
        rows = [(e.phone, e.sms_id, datetime.fromisoformat(e.updated_at)) for e in sent]
        ledger.record(scope, campaign, rows)
