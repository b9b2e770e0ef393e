"""Realistic contact sheets and campaigns for the benchmarks, generated deterministically.

Phones mix the ways people (and Excel) write them: national GB numbers with and without spaces,
international with ``+`` or ``00``, digits Excel stored as a number (a numeric cell in the XLSX),
a few other countries, ~1% invalid values and ~1% repeats of an earlier number. First names are
sometimes empty (the template's ``default`` covers it).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

import xlsxwriter
import yaml


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COLUMNS = ("phone", "first_name", "city")
TEMPLATE = (
    'Hi {{ first_name | default("there") }}! Spring sale: 20% off everything at our'
    " {{ city }} store until Sunday. Reply STOP to opt out."
)
_NAMES = _words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Emily Ella Poppy"
    " Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie"
    " Zoë José Chloé Siobhán Łukasz Aoife Björn Renée Mateo Ana Priya Wei Yusuf Fatima Kofi Nia"
)
_CITIES = _words(
    "London Birmingham Manchester Leeds Glasgow Liverpool Bristol Sheffield Edinburgh Cardiff"
    " Leicester Coventry Bradford Belfast Nottingham Hull Newcastle Stoke Southampton Derby"
    " Portsmouth Brighton Plymouth Reading Northampton Luton Wolverhampton Bolton Aberdeen Norwich"
)
_FOREIGN = ("+33 6 12 34 {:02d} {:02d}", "+49 151 2345 {:02d}{:02d}", "+353 85 123 {:02d}{:02d}")
_INVALID = ("12345", "n/a", "07400 12", "+44 20 7946 0", "tel: ask reception")


def contact_rows(count: int, seed: int = 2024) -> Iterator[tuple[str | int, str, str]]:
    """`count` rows of (phone, first_name, city); an int phone is an Excel-numeric cell."""
    rng = random.Random(seed)
    for i in range(count):
        name = "" if rng.random() < 0.05 else rng.choice(_NAMES)
        yield _phone(rng, i), name, rng.choice(_CITIES)


def _phone(rng: random.Random, i: int) -> str | int:
    """Row i's phone: a distinct GB mobile written one of several ways, or a rarer case."""
    roll = rng.random()
    if roll < 0.01:
        return rng.choice(_INVALID)
    if roll < 0.02 and i:
        return _phone_of(rng.randrange(i), 0.5)  # a number met earlier, written as national
    if roll < 0.05:
        return rng.choice(_FOREIGN).format(i // 100 % 100, i % 100)
    return _phone_of(i, rng.random())


def _phone_of(i: int, style: float) -> str | int:
    digits = f"{i % 1_000_000:06d}"
    if style < 0.35:
        return f"07400 {digits}"
    if style < 0.50:
        return f"07400{digits}"
    if style < 0.70:
        return f"+44 7400 {digits[:3]} {digits[3:]}"
    if style < 0.80:
        return f"+447400{digits}"
    if style < 0.85:
        return f"0044 7400 {digits}"
    return int(f"447400{digits}")  # the "+" Excel dropped: a number cell


def write_xlsx(path: Path, count: int) -> Path:
    """The contacts as an XLSX workbook (sheet "Contacts"), numeric phones as number cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Contacts")
    sheet.write_row(0, 0, COLUMNS)
    for y, (phone, name, city) in enumerate(contact_rows(count), start=1):
        if isinstance(phone, int):
            sheet.write_number(y, 0, phone)
        else:
            sheet.write_string(y, 0, phone)
        if name:
            sheet.write_string(y, 1, name)
        sheet.write_string(y, 2, city)
    book.close()
    return path


def write_csv(path: Path, count: int) -> Path:
    """The contacts as a UTF-8 CSV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(contact_rows(count))
    return path


def write_campaign(folder: Path, name: str, contacts: Path, results: Path, **extra: object) -> Path:
    """A campaign file for `contacts` with the benchmark's 2-variable template and `extra` keys."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "name": name,
        "contacts": str(contacts.resolve()),
        "default_region": "GB",
        "message": {"text": TEMPLATE},
        "max_segments": 3,
        "domain": "shop.example.com",
        "from_name": "ShopName",
        "tags": ["benchmark"],
        "results": str(results.resolve()),
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def ensure(path: Path, count: int) -> Path:
    """Generate `path` (.xlsx or .csv) with `count` rows unless it already exists."""
    if path.exists():
        return path
    partial = path.with_name(f".partial-{path.name}")
    (write_xlsx if path.suffix == ".xlsx" else write_csv)(partial, count)
    partial.replace(path)
    return path
