"""Progress display for the CLI: a tqdm bar on a terminal, else a line every 10 s, or nothing.

The sender only knows a callback `on_row(row)`; the CLI passes one of these.
"""

from __future__ import annotations

import time
from typing import IO, Any

from ..plan.rows import PlanRow, Status


class Progress:
    """Counts rows as they reach their outcome; subclasses show them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = self.sent = self.failed = 0
        self.started = time.monotonic()

    def __call__(self, row: PlanRow) -> None:
        self.done += 1
        if row.status is Status.SENT:
            self.sent += 1
        else:
            self.failed += 1
        self.show()

    def show(self) -> None:
        """Nothing, for --quiet."""

    def note(self, text: str) -> None:
        """A line of its own (such as why the run waits); nothing for --quiet."""

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LineProgress(Progress):
    """A line on stderr at most every `every_s` seconds, for logs and pipes."""

    def __init__(self, total: int, stream: IO[str], every_s: float = 10.0) -> None:
        super().__init__(total)
        self.stream, self.every_s = stream, every_s
        self.last = self.started

    def show(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            print(self.line(now), file=self.stream, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0.0
        return (
            f"progress: {self.done}/{self.total} ({self.sent} sent, {self.failed} not sent),"
            f" {rate:.1f}/s, ETA {_duration(eta)}"
        )


class BarProgress(Progress):
    """A tqdm bar: count, rate, ETA, and sent/failed so far."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        super().__init__(total)
        from tqdm import tqdm

        self.bar: Any = tqdm(total=total, unit="msg", file=stream, dynamic_ncols=True)

    def show(self) -> None:
        self.bar.set_postfix(sent=self.sent, failed=self.failed, refresh=False)
        self.bar.update(1)

    def note(self, text: str) -> None:
        self.bar.write(text, file=self.bar.fp)

    def close(self) -> None:
        self.bar.close()


def make_progress(total: int, *, quiet: bool, stream: IO[str]) -> Progress:
    if quiet:
        return Progress(total)
    if stream.isatty():
        return BarProgress(total, stream)
    return LineProgress(total, stream)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Tally:
    """Progress of a count of items (ids asked, say) with named figures: nothing (--quiet), a
    line on stderr at most every `every_s` seconds, or a tqdm bar on a terminal."""

    def __init__(
        self, total: int, *, unit: str, quiet: bool, stream: IO[str], every_s: float = 10.0
    ) -> None:
        self.total, self.unit, self.done = total, unit, 0
        self.stream, self.every_s = stream, every_s
        self.started = self.last = time.monotonic()
        self.figures: dict[str, int] = {}
        self.bar: Any = None
        self.quiet = quiet
        if not quiet and stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, file=stream, dynamic_ncols=True)

    def advance(self, count: int, figures: dict[str, int]) -> None:
        """`count` more items done; `figures` (e.g. delivered=…) as they stand now."""
        self.done += count
        self.figures = figures
        if self.bar is not None:
            self.bar.set_postfix(figures, refresh=False)
            self.bar.update(count)
        elif not self.quiet and (now := time.monotonic()) - self.last >= self.every_s:
            self.last = now
            shown = ", ".join(f"{n} {name}" for name, n in figures.items())
            print(
                f"progress: {self.done}/{self.total} {self.unit}s ({shown})",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
