"""Progress display: counts, the plain line's content and its 10-second pace."""

from __future__ import annotations

import io

from wooxy_bulk.cli.progress import LineProgress, Progress, Tally, make_progress
from wooxy_bulk.plan.rows import PlanRow, Status


def row(status: Status) -> PlanRow:
    return PlanRow(2, (), status)


def test_counts_sent_and_not_sent() -> None:
    """The counter tells sent rows from the rest."""
    progress = Progress(4)
    for status in (Status.SENT, Status.FAILED, Status.SENT, Status.UNKNOWN):
        progress(row(status))
    assert (progress.done, progress.sent, progress.failed) == (4, 2, 2)


def test_line_progress_says_count_rate_and_eta() -> None:
    """Without a terminal, a line gives done/total, sent and not sent, rate and ETA."""
    stream = io.StringIO()
    progress = LineProgress(10, stream, every_s=0)
    progress(row(Status.SENT))
    progress(row(Status.FAILED))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("progress: 2/10 (1 sent, 1 not sent), ")
    assert "/s, ETA " in lines[1]


def test_line_progress_prints_at_most_every_ten_seconds() -> None:
    """Many rows in quick succession print nothing until ten seconds have passed."""
    stream = io.StringIO()
    progress = LineProgress(1000, stream)
    for _ in range(500):
        progress(row(Status.SENT))
    assert stream.getvalue() == ""


def test_quiet_and_non_terminal_choices() -> None:
    """--quiet shows nothing; a stream that is no terminal gets the line display."""
    stream = io.StringIO()
    assert type(make_progress(5, quiet=True, stream=stream)) is Progress
    assert type(make_progress(5, quiet=False, stream=stream)) is LineProgress


def test_tally_line_names_its_unit_and_figures() -> None:
    """Tally without a terminal: done/total in its unit and the figures given; quiet: nothing."""
    stream = io.StringIO()
    tally = Tally(250, unit="id", quiet=False, stream=stream, every_s=0)
    tally.advance(100, {"delivered": 90, "pending": 10})
    quiet = Tally(250, unit="id", quiet=True, stream=stream, every_s=0)
    quiet.advance(100, {"delivered": 90})
    assert stream.getvalue() == "progress: 100/250 ids (90 delivered, 10 pending)\n"
