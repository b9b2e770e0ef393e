"""What both backends' send paths share: the outcomes noted and written in batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..errors import ExitStatus, WooxyBulkError
from . import Cap, Clock

FLUSH_EVERY = 200  # outcomes
FLUSH_AFTER_S = 0.5
_KEPT = ("sent", "unknown")  # an unknown message may have been delivered: it counts
Insert = tuple[str, str, str, str, datetime, str]  # scope, phone, campaign, state, sent_at, sms_id


class LedgerError(WooxyBulkError):
    """The ledger could not be read or written during a run: the run stops (exit 3)."""

    exit_status = ExitStatus.STOPPED


class Outcomes:
    """Outcomes noted by the sender, written in one transaction every FLUSH_EVERY outcomes or
    FLUSH_AFTER_S seconds (and with the next reservation). A reserved row already counts against
    the cap, so writing its outcome a little later changes no decision; a crash leaves it pending,
    counted as a message that may have been sent."""

    def __init__(
        self,
        scope: str,
        campaign: str,
        cap: Cap | None,
        clock: Clock,
        monotonic: Callable[[], float],
    ) -> None:
        self.scope, self.campaign, self.cap, self.clock = scope, campaign, cap, clock
        self.monotonic = monotonic
        self.reserves = cap is not None
        self.reserved: dict[str, int] = {}  # phone -> id of its pending row
        self._inserts: list[Insert] = []
        self._updates: list[tuple[str, str, int]] = []
        self._deletes: list[int] = []
        self._since = monotonic()

    @property
    def noted(self) -> int:
        return len(self._inserts) + len(self._updates) + len(self._deletes)

    def outcome(self, phone: str, state: str, sms_id: str = "") -> None:
        row = self.reserved.pop(phone, None)
        if row is not None:
            if state in _KEPT:
                self._updates.append((state, sms_id, row))
            else:
                self._deletes.append(row)
        elif state in _KEPT:
            self._inserts.append((self.scope, phone, self.campaign, state, self.clock(), sms_id))
        if self.noted >= FLUSH_EVERY or self.monotonic() - self._since >= FLUSH_AFTER_S:
            self.flush()

    def flush(self) -> None:
        raise NotImplementedError

    def release_unsent(self) -> None:
        """Note the reservations whose message was never tried (the run stopped first) as
        released, for the last write."""
        self._deletes.extend(self.reserved.values())
        self.reserved.clear()

    def take(self) -> tuple[list[Insert], list[tuple[str, str, int]], list[int]]:
        """The outcomes noted since the last write, handed over once."""
        taken = self._inserts, self._updates, self._deletes
        self._inserts, self._updates, self._deletes = [], [], []
        self._since = self.monotonic()
        return taken
