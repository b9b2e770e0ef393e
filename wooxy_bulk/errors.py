"""Exit codes and the exceptions the library raises; only `cli/` turns them into messages."""

from __future__ import annotations

import os
from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """The process exit codes of the SPEC."""

    OK = 0
    ROWS_FAILED = 1
    BAD_INPUT = 2
    STOPPED = 3
    INTERRUPTED = 130


class WooxyBulkError(Exception):
    """Base of every error the library raises on purpose."""

    exit_status = ExitStatus.BAD_INPUT


class InputError(WooxyBulkError):
    """The campaign, one of its files or the command line is wrong; nothing was sent.

    The message already says where (file, row, key) and what to do.
    """


def located(where: object, message: str) -> InputError:
    """An InputError prefixed with its location: ``contacts.xlsx: row 7: ...``."""
    if isinstance(where, Path):
        where = display_path(where)
    return InputError(f"{where}: {message}")


class ResultsError(WooxyBulkError):
    """The results sheet could not be written; the journal still holds every outcome."""

    exit_status = ExitStatus.ROWS_FAILED


class JournalError(WooxyBulkError):
    """The journal cannot be written (a full disk…): the run stops before another request."""

    exit_status = ExitStatus.STOPPED


class RowError(Exception):
    """A problem with one contact row: the row becomes ``invalid`` and this text is its ``error``.

    Not a WooxyBulkError: it never stops a run, it is recorded on the row.
    """


def display_path(path: object) -> str:
    """A path as the user would write it: relative to the working folder when it lies below it."""
    p = Path(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else Path(str(path))
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return os.fspath(p)
