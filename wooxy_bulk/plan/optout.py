"""The opt-out list's entries, read from the command line or a file with the contacts' rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from ..errors import InputError, RowError, display_path
from ..ledger import OptOut
from .phones import PhoneParser
from .suppression import read_numbers

MAX_LISTED = 20


def from_arguments(
    values: Iterable[str], region: str | None, now: datetime, reason: str, source: str
) -> list[OptOut]:
    """One entry a number; an InputError naming every value that is not a valid number."""
    parser = _parser(region)
    entries: dict[str, OptOut] = {}
    errors: list[str] = []
    for raw in values:
        try:
            phone = parser.parse(raw)
        except RowError as exc:
            errors.append(str(exc))
            continue
        entries.setdefault(phone, OptOut(phone, now, reason, source))
    _refuse(errors)
    return list(entries.values())


def from_file(path: Path, region: str | None, now: datetime, reason: str) -> list[OptOut]:
    """Every number of a file read as a `suppress` file is (its phone columns, else the one
    holding the most numbers; a value with two readings gives both); an InputError naming each
    bad row."""
    numbers, bad = read_numbers(path, _parser(region))
    where = display_path(path)
    _refuse([f"{where}: row {row}: {error}" for row, error in bad])
    return [OptOut(phone, now, reason, where) for phone in sorted(numbers)]


def _parser(region: str | None) -> PhoneParser:
    try:
        return PhoneParser(region)
    except InputError as exc:
        raise InputError(str(exc).replace("default_region:", "--region:", 1)) from None


def _refuse(errors: list[str]) -> None:
    """An InputError listing `errors` (the first MAX_LISTED), if there are any."""
    if errors:
        shown = errors[:MAX_LISTED]
        if len(errors) > MAX_LISTED:
            shown.append(f"… and {len(errors) - MAX_LISTED} more")
        advice = "fix or remove them (give --region for numbers without a country code)"
        raise InputError("\n".join([*shown, f"nothing was changed: {advice}"]))
