"""Suppression files: numbers never to text, read from the columns that hold them.

A file is read by its columns named like a phone column (phone, mobile, msisdn, number, cell,
tel…, whatever the case and spacing), else by the column holding the most valid numbers; a bare
list with no header has its first line read as a number too. A file that yields no number (a
CRM export read by its email column) is an error: an opt-out list that suppresses nobody must
stop the run, not let the send go ahead. Values are read with the campaign's rules
(default_region); a value with two valid readings suppresses both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..contacts import open_contacts
from ..errors import located
from .phones import InvalidNumber, PhoneParser

_PHONE_PARTS = re.compile(r"phone|mobile|msisdn|cellular|tele?fon|teléfono|handy|whatsapp")
_PHONE_WORDS = frozenset(
    ["cell", "tel", "gsm", "sms", "mob", "movil", "móvil", "portable", "celular"]
)
_NUMBER_WORDS = frozenset(
    ["number", "num", "nr", "no", "numero", "número"]
)  # only as the whole name
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Suppressions:
    """Numbers never to text, with the file each came from."""

    sources: dict[str, str]  # E.164 -> file name
    unreadable: int = 0


def read_suppressions(paths: Iterable[Path], parser: PhoneParser) -> Suppressions:
    """Every number of every suppress file, as E.164; InputError for a file with none."""
    sources: dict[str, str] = {}
    unreadable = 0
    for path in paths:
        numbers, bad = read_suppression_file(path, parser)
        unreadable += bad
        for number in numbers:
            sources.setdefault(number, path.name)
    return Suppressions(sources, unreadable)


def is_phone_column(name: str) -> bool:
    """A header that names a phone column: "Mobile", "Phone Number", "MSISDN", "tel."…"""
    words = _WORD.findall(name.casefold())
    if _PHONE_PARTS.search("".join(words)) or _PHONE_WORDS.intersection(words):
        return True
    return len(words) == 1 and words[0] in _NUMBER_WORDS


def read_suppression_file(path: Path, parser: PhoneParser) -> tuple[set[str], int]:
    """The numbers in one suppression file, and how many values in its columns were not."""
    numbers, bad = read_numbers(path, parser)
    return numbers, len(bad)


def read_numbers(path: Path, parser: PhoneParser) -> tuple[set[str], list[tuple[int, str]]]:
    """The numbers in one suppression file, and the (row, error) of each value in its number
    columns that is no valid number."""
    contacts = open_contacts(path)
    columns = contacts.columns
    chosen = [i for i, name in enumerate(columns) if is_phone_column(name)]
    candidates = chosen or list(range(len(columns)))
    found: list[set[str]] = [set() for _ in columns]
    bad: list[list[tuple[int, str]]] = [[] for _ in columns]
    records = [(1, columns)] if not chosen else []  # a bare list: its first line is a number
    for index, (row, cells) in enumerate([*records, *contacts.rows()]):
        for at in candidates:
            value = cells[at] if at < len(cells) else ""
            if not value:
                continue
            try:
                found[at].add(parser.parse(value))
            except InvalidNumber as exc:
                found[at].update(exc.readings)
                if not exc.readings and index >= len(records):
                    bad[at].append((row, str(exc)))
    if not chosen:
        best = max(range(len(columns)), key=lambda at: len(found[at]))
        chosen = [best] if found[best] else []
    numbers = set().union(*(found[at] for at in chosen))
    if not numbers:
        listed = ", ".join(columns)
        read = (
            "no column holds phone numbers"
            if not chosen
            else f"its column {', '.join(repr(columns[at]) for at in chosen)} holds no valid number"
        )
        raise located(
            path,
            f"yields no phone numbers to suppress: {read}; its columns are: {listed}."
            " Put the numbers never to text in a column named 'phone'",
        )
    return numbers, sorted(error for at in chosen for error in bad[at])
