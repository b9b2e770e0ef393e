"""Delivery status: every sent message's status asked of ``/v3/sms/info`` and kept in the journal.

The journal keeps the API's own word (``new``, ``delivered``, ``failed``, any other word the
API may use, or ``not_found`` for an id it answers with null); `label` turns it into the results
sheet's ``delivery`` column: ``pending`` for ``new``, ``pending (word)`` for a word the
documentation does not list. ``delivered`` and ``failed`` are final and never asked again.
"""

from __future__ import annotations

NEW, DELIVERED, FAILED, NOT_FOUND = "new", "delivered", "failed", "not_found"
FINAL = frozenset({DELIVERED, FAILED})
PENDING = "pending"


def label(word: str) -> str:
    """The results sheet's ``delivery`` for the journal's word ('' when never asked)."""
    if not word or word in FINAL or word == NOT_FOUND:
        return word
    return PENDING if word == NEW else f"{PENDING} ({word})"


def is_pending(word: str) -> bool:
    """Whether a status may still change: asked, and neither final nor unknown to the API."""
    return bool(word) and word not in FINAL and word != NOT_FOUND
