"""Ctrl-C and SIGTERM: the same, never a traceback, and never in the middle of writing results.

While the CLI loads, a signal ends it at once with a one-line message (exit 130). Once it runs,
both raise KeyboardInterrupt, which `run` turns into a clean stop. `held()` holds them off at
the end of a run, so the results sheet is always written whole.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPTED = 130


def quiet_while_loading() -> None:
    """Until raising() is called, a signal prints one line and exits 130 (no traceback)."""

    def leave(signum: int, frame: FrameType | None) -> None:
        os.write(2, b"Error: interrupted\n")
        os._exit(INTERRUPTED)

    for signum in SIGNALS:
        signal.signal(signum, leave)


def raising() -> None:
    """SIGINT and SIGTERM both raise KeyboardInterrupt from here on."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    for signum in SIGNALS:
        signal.signal(signum, interrupt)


@contextmanager
def held() -> Iterator[Callable[[], bool]]:
    """For the end of a run (the results, the closing summary), which must not be cut short:
    in the block, SIGINT and SIGTERM are only recorded (the function yielded says whether one
    came); after it, they are ignored, as the run is ending anyway."""
    came: list[int] = []
    for signum in SIGNALS:
        signal.signal(signum, lambda n, f: came.append(n))
    try:
        yield lambda: bool(came)
    finally:
        for signum in SIGNALS:
            # SIG_IGN, not a Python handler: it holds in every thread, and after Python
            # restores the default handlers on its way out
            signal.signal(signum, signal.SIG_IGN)
