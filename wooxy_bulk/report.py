"""What the terminal shows: the dry-run summary, the confirmation summary, the closing summary.

Pure functions that return text; the cli package prints them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from . import delivery
from .campaign import Campaign
from .errors import display_path
from .plan.estimate import estimate
from .plan.rows import NOTE_SEPARATOR as _NOTE_SEPARATOR
from .plan.rows import Plan, PlanRow, Status

_DUPLICATE = re.compile(r"same number as row \d+")
_QUOTED = re.compile(r"'[^']*'")
_NUMBER = re.compile(r"\+\d{5,}")
_LABELS = {
    Status.READY: "Ready to send",
    Status.SENT: "Sent before",
    Status.FAILED: "Failed before",
    Status.UNKNOWN: "Unknown",
    Status.NOT_SENT: "Not sent",
    Status.INVALID: "Invalid",
    Status.DUPLICATE: "Duplicates",
    Status.SUPPRESSED: "Suppressed",
}
_ALWAYS = (Status.READY, Status.INVALID, Status.DUPLICATE, Status.SUPPRESSED)
_ORDER = (
    Status.READY,
    Status.SENT,
    Status.FAILED,
    Status.UNKNOWN,
    Status.NOT_SENT,
    Status.INVALID,
    Status.DUPLICATE,
    Status.SUPPRESSED,
)


def dry_run_summary(plan: Plan, samples: int = 3, prices: Mapping[str, float] | None = None) -> str:
    """Rows read, what would be sent, what would not, segments, and the first rendered texts."""
    ready = plan.with_status(Status.READY)
    counts = plan.counts()
    lines = [f"Contacts:        {plan.read_from}"] if plan.read_from else []
    lines.append(f"Rows read:       {len(plan.rows)}")
    lines += [
        f"{label + ':':<17}{counts[status]}"
        for status, label in _LABELS.items()
        if counts[status] or status in _ALWAYS
    ]
    lines.append(
        f"SMS segments:    {sum(r.segments for r in ready)}"
        f" ({sum(r.ucs2 for r in ready)} messages need UCS-2)"
    )
    lines += cost_lines(plan, ready, prices)
    lines += [f"Warning: {w}" for w in plan.warnings]
    lines += _notes(plan)
    lines += _first_errors(plan)
    if ready:
        lines.append(f"First {min(samples, len(ready))} messages:")
        lines += [_sample(r) for r in ready[:samples]]
    return "\n".join(lines)


def confirmation(
    campaign: Campaign,
    plan: Plan,
    rows: Sequence[PlanRow],
    api_url: str,
    skipped: dict[Status, int],
    account: str = "",
) -> str:
    """The summary shown before the y/N prompt of a real send; `account` is its account line."""
    lines = [
        f"Campaign:    {campaign.name}",
        f"Recipients:  {len(rows)}",
        f"Segments:    {sum(r.segments for r in rows)}",
        *([account] if account else []),
        f"From name:   {campaign.from_name or '(the account default)'}",
        f"Domain:      {campaign.domain}",
        f"API URL:     {api_url}",
    ]
    lines += cost_lines(plan, rows, campaign.prices)
    lines += [f"Warning: {w}" for w in plan.warnings]
    if skipped:
        lines.append("Not sent now: " + ", ".join(f"{n} {s.value}" for s, n in skipped.items()))
    return "\n".join(lines)


def cost_lines(
    plan: Plan, rows: Sequence[PlanRow], prices: Mapping[str, float] | None
) -> list[str]:
    """The characters that cost extra segments, and segments (and cost) by country."""
    lines = plan.characters.summary(rows) if plan.characters else []
    if rows:
        title = "Estimated cost by country:" if prices else "Segments by country:"
        lines += [title, *estimate(rows, prices).lines()]
    return lines


def closing_summary(plan: Plan, elapsed_s: float, sent_now: int, results: object) -> str:
    """Counts by status, time, rate and where the results are."""
    counts = plan.counts()
    parts = [f"{counts[s]} {s.value}" for s in _ORDER if counts[s]]
    rate = sent_now / elapsed_s if elapsed_s > 0 else 0.0
    sent = f"Sent {sent_now} in this run in {elapsed_s:.1f} s ({rate:.1f}/s)"
    return "\n".join(
        [
            "Done: " + (", ".join(parts) or "no rows"),
            sent if sent_now else "Sent nothing in this run",
            results_line(results),
        ]
    )


def delivery_line(plan: Plan) -> str:
    """``Delivery of 1000 sent: 950 delivered, 30 failed, 20 pending``, from the rows."""
    found = delivery.counts(plan.rows)
    shown = ", ".join(f"{n} {word}" for word, n in found) or "nothing sent yet"
    return f"Delivery of {sum(n for _, n in found)} sent: {shown}"


def results_line(path: object) -> str:
    return f"Results: {display_path(path)}"


def _notes(plan: Plan, limit: int = 5) -> list[str]:
    """The kinds of note on the rows, commonest first: what the tool noticed and decided."""
    kinds = Counter(
        error_kind(note) for r in plan.rows if r.note for note in r.note.split(_NOTE_SEPARATOR)
    )
    noted = sum(1 for r in plan.rows if r.note)
    if not noted:
        return []
    lines = [f"Notes on {noted} row(s) (see the note column):"]
    lines += [f"  {count} × {kind}" for kind, count in kinds.most_common(limit)]
    if len(kinds) > limit:
        lines.append(f"  … and {len(kinds) - limit} more kinds of note")
    return lines


def _first_errors(plan: Plan, limit: int = 5) -> list[str]:
    bad = plan.with_status(Status.INVALID)
    lines = [f"  row {r.row}: {r.error}" for r in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  … and {len(bad) - limit} more invalid rows (see the results sheet)")
    return ["Invalid rows:", *lines] if lines else []


def _sample(row: PlanRow) -> str:
    encoding = "UCS-2" if row.ucs2 else "GSM-7"
    parts = "part" if row.segments == 1 else "parts"
    text = row.text.replace("\n", "\n    ")
    return f"  row {row.row} → {row.phone} ({row.segments} {parts}, {encoding}):\n    {text}"


def error_kind(error: str) -> str:
    """An error text without the row's own values, so that rows failing alike count as one:
    "'12345' is not a valid number for GB (too short)" → "'…' is not a valid number for GB
    (too short)"; every duplicate → "duplicate of an earlier row"."""
    if _DUPLICATE.fullmatch(error):
        return "duplicate of an earlier row"
    return _NUMBER.sub("+…", _QUOTED.sub("'…'", error))
