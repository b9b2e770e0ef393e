"""The opt-out list's entries, read from the command line or a file with the contacts' rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from .contacts import read_phone_list
from .errors import InputError, RowError, display_path
from .ledger import OptOut
from .phones import PhoneParser

MAX_LISTED = 20


def from_arguments(
    values: Iterable[str], region: str | None, now: datetime, reason: str, source: str
) -> list[OptOut]:
    """One entry a number; an InputError naming every value that is not a valid number."""
    parser = _parser(region)
    return _entries(((repr(v), v) for v in values), parser, now, reason, source, "")


def from_file(path: Path, region: str | None, now: datetime, reason: str) -> list[OptOut]:
    """Every number of a file read like a `suppress` file; an InputError naming each bad row."""
    parser = _parser(region)
    rows = ((f"row {n}", raw) for n, raw in read_phone_list(path))
    found = _entries(rows, parser, now, reason, display_path(path), f"{display_path(path)}: ")
    if not found:
        raise InputError(f"{display_path(path)}: no phone numbers in the file")
    return found


def _parser(region: str | None) -> PhoneParser:
    try:
        return PhoneParser(region)
    except InputError as exc:
        raise InputError(str(exc).replace("default_region:", "--region:", 1)) from None


def _entries(
    values: Iterable[tuple[str, str]],
    parser: PhoneParser,
    now: datetime,
    reason: str,
    source: str,
    prefix: str,
) -> list[OptOut]:
    entries: dict[str, OptOut] = {}
    errors: list[str] = []
    for where, raw in values:
        try:
            phone = parser.parse(raw)
        except RowError as exc:
            errors.append(f"{prefix}{where}: {exc}" if prefix else str(exc))
            continue
        entries.setdefault(phone, OptOut(phone, now, reason, source))
    if errors:
        shown = errors[:MAX_LISTED]
        if len(errors) > MAX_LISTED:
            shown.append(f"… and {len(errors) - MAX_LISTED} more")
        advice = "fix or remove them (give --region for numbers without a country code)"
        raise InputError("\n".join([*shown, f"nothing was changed: {advice}"]))
    return list(entries.values())
