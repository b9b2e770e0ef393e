"""`wooxy-bulk new`: a campaign file and a message template guessed from a contacts sheet.

The sheet is read with the same reader as `run`. The phone column is the one holding the most
valid numbers (whatever its header says); the default region is the one given, else the most
common region of the numbers written with a country code. The files it writes pass a dry run as
they are, and every key is commented the way the README explains it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import phonenumbers

from .contacts import open_contacts
from .errors import InputError, RowError, display_path, located
from .plan.phones import PhoneParser
from .plan.render import alias_for

SAMPLE_ROWS = 2000  # rows looked at for the guesses; enough to tell columns apart
_INTERNATIONAL = re.compile(r"\s*(?:\+|00)\d")
_FIRST_NAME = ("first_name", "firstname", "first", "given_name", "forename", "prenom", "vorname")
_FIRST_NAME_FALLBACK = ("name", "full_name", "contact", "customer")
_COUNTRY = ("country", "country_code", "countrycode", "region", "iso", "land", "pays", "pais")
_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_TAG = re.compile(r"[A-Za-z0-9._-]{2,30}")


class RegionNeeded(InputError):
    """No number has a country code and no --region was given: the region cannot be told."""


@dataclass
class Guess:
    """What `new` found in a contacts sheet, and why."""

    contacts: Path
    columns: tuple[str, ...]
    phone_column: str
    sheet: str | None = None
    country_column: str | None = None
    region: str | None = None
    first_name_column: str | None = None
    reasons: list[str] = field(default_factory=list)


def guess(contacts_path: Path, region: str | None = None) -> Guess:
    """Read the sheet's first rows and guess the phone column, country column and region."""
    contacts = open_contacts(contacts_path)
    columns = contacts.columns
    rows = [cells for _, cells in islice(contacts.rows(), SAMPLE_ROWS)]
    if not rows:
        raise located(contacts_path, "has a header but no contact rows")
    reasons: list[str] = []
    region = _region(contacts_path, columns, rows, region, reasons)
    phone_at = _phone_column(contacts_path, columns, rows, region, reasons)
    country_at = _country_column(columns, rows, phone_at)
    if country_at is not None:
        reasons.append(f"country column: '{columns[country_at]}' (it holds country codes)")
    first = _first_name_column(columns)
    sheet = getattr(contacts, "sheet_name", None)
    if sheet:
        reasons.append(f"sheet: '{sheet}' (the first visible sheet with data)")
    return Guess(
        contacts=contacts_path,
        columns=columns,
        phone_column=columns[phone_at],
        sheet=sheet,
        country_column=columns[country_at] if country_at is not None else None,
        region=region,
        first_name_column=first,
        reasons=reasons,
    )


def _region(
    path: Path,
    columns: tuple[str, ...],
    rows: list[tuple[str, ...]],
    given: str | None,
    reasons: list[str],
) -> str:
    if given:
        region = given.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise InputError(f"--region: {given!r} is not a country code such as GB or US")
        reasons.append(f"default region: {region} (from --region)")
        return region
    found = Counter(
        region
        for cells in rows
        for cell in cells
        if (region := _international_region(cell)) is not None
    )
    if not found:
        raise RegionNeeded(
            f"{display_path(path)}: no number has a country code, so the region of the national"
            " numbers cannot be told; give it with --region, e.g. --region GB"
        )
    region, count = found.most_common(1)[0]
    others = ", ".join(f"{r} {n}" for r, n in found.most_common()[1:4])
    also = f"; also {others}" if others else ""
    reasons.append(
        f"default region: {region} ({count} of the numbers written with a country code{also})"
    )
    return region


def _international_region(cell: str) -> str | None:
    if not _INTERNATIONAL.match(cell):
        return None
    try:
        number = phonenumbers.parse(cell, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    # The country code's main region: +44 numbers of Jersey or Guernsey still say GB, whose
    # national numbering they share.
    return phonenumbers.region_code_for_country_code(number.country_code)


def _phone_column(
    path: Path,
    columns: tuple[str, ...],
    rows: list[tuple[str, ...]],
    region: str,
    reasons: list[str],
) -> int:
    parser = PhoneParser(region)
    valid = [0] * len(columns)
    for cells in rows:
        for i, cell in enumerate(cells):
            if cell and _parses(parser, cell):
                valid[i] += 1
    best = max(range(len(columns)), key=lambda i: (valid[i], _named_like_phone(columns[i])))
    if not valid[best]:
        found = ", ".join(columns)
        raise located(
            path,
            f"no column holds valid phone numbers for {region} (columns: {found});"
            " check the sheet, or give the region of the numbers with --region",
        )
    reasons.append(
        f"phone column: '{columns[best]}' ({valid[best]} of {len(rows)} rows are valid numbers)"
    )
    return best


def _parses(parser: PhoneParser, cell: str) -> bool:
    try:
        parser.parse(cell)
    except RowError:
        return False
    return True


def _named_like_phone(header: str) -> bool:
    return any(word in header.casefold() for word in ("phone", "mobile", "msisdn", "tel", "cell"))


def _country_column(
    columns: tuple[str, ...], rows: list[tuple[str, ...]], phone_at: int
) -> int | None:
    """A column whose non-empty cells are (nearly) all ISO country codes."""
    named = [i for i, c in enumerate(columns) if (alias_for(c) or c) in _COUNTRY]
    for i in [*named, *range(len(columns))]:
        if i == phone_at:
            continue
        values = [cells[i].strip().upper() for cells in rows if cells[i].strip()]
        codes = sum(v in phonenumbers.SUPPORTED_REGIONS or v in ("UK",) for v in values)
        if values and codes >= 0.9 * len(values):
            return i
    return None


def _first_name_column(columns: tuple[str, ...]) -> str | None:
    names = {(c if c.isidentifier() else alias_for(c) or c).casefold(): c for c in columns}
    for wanted in (*_FIRST_NAME, *_FIRST_NAME_FALLBACK):
        if wanted in names:
            return names[wanted]
    return None


def campaign_name(contacts: Path, name: str | None) -> str:
    """The campaign's name: the one given, else the contacts file's name made file-safe."""
    if name is not None:
        return name
    slug = _NAME.sub("-", contacts.stem).strip("-._").lower()
    return slug or "campaign"


def write_files(found: Guess, name: str, folder: Path) -> tuple[Path, Path]:
    """Write NAME.yaml and NAME.txt.j2 into `folder`; never over an existing file."""
    campaign, template = folder / f"{name}.yaml", folder / f"{name}.txt.j2"
    for path in (campaign, template):
        if path.exists():
            raise located(path, "exists already; give another --name, or move the file away")
    template.write_text(template_text(found), encoding="utf-8")
    campaign.write_text(campaign_yaml(found, name, template.name, folder), encoding="utf-8")
    return campaign, template


def template_text(found: Guess) -> str:
    """A short message using the first-name column, with every column listed in a comment."""
    listed = ", ".join(_variable(c) for c in found.columns)
    greeting = (
        f'Hi {{{{ {_variable(found.first_name_column)} | default("there") }}}}!'
        if found.first_name_column
        else "Hi!"
    )
    return (
        f"{{# Columns you can use: {listed}.\n"
        '   An empty cell is undefined: write {{ column | default("...") }}. #}\n'
        f"{greeting} Our news: ... Reply STOP to opt out.\n"
    )


def _variable(column: str) -> str:
    if column.isidentifier():
        return column
    return alias_for(column) or f'row["{column}"]'


def _quoted(text: str) -> str:
    """A YAML single-quoted scalar: read as written, backslashes and all."""
    return "'" + text.replace("'", "''") + "'"


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def campaign_yaml(found: Guess, name: str, template: str, folder: Path) -> str:
    """The campaign file: what was found set, every other key commented with what it does."""
    tag = f"tags: [{name}]" if _TAG.fullmatch(name) else "# tags: [spring-sale]"
    sheet = (
        f"sheet: {_quoted(found.sheet)}                   # workbooks: the sheet read"
        if found.sheet
        else "# sheet: Contacts                # workbooks: sheet name or 0-based index"
    )
    country = (
        f"country_column: {_quoted(found.country_column)}   # per-row country for national numbers"
        if found.country_column
        else "# country_column: country        # per-row ISO country code for national numbers"
    )
    return f"""\
# Campaign written by `wooxy-bulk new` from {_relative(found.contacts, folder)}.
# Check it with:   wooxy-bulk run {name}.yaml --dry-run
# Relative paths are relative to this file's folder. The README explains every key.
name: {name}                      # names the journal and the default results file
contacts: {_quoted(_relative(found.contacts, folder))}
{sheet}
phone_column: {_quoted(found.phone_column)}            # the column holding the most valid numbers
{country}
default_region: {found.region}               # region of numbers written without a country code
# mobile_only: false             # true: numbers that are not mobile (landlines...) are invalid
message:
  template: {_quoted(template)}   # Jinja2; each column is a variable
  # text: "Hi {{{{ first_name }}}}"  # or the text inline instead of a template file
# characters: keep               # keep | replace (typographic characters by GSM-7 look-alikes)
max_segments: 3                   # rows whose text needs more SMS segments are invalid
domain: example.com               # CHANGE: the verified domain of your Wooxy account
# from_name: ShopName            # at most 11 of A-Z a-z 0-9 and spaces, or a phone number
{tag}
# suppress: [optout.csv]         # files of numbers never to text
# send_window: {{hours: "09:00-20:00", days: [mon, tue, wed, thu, fri, sat]}}
# country_rules: true            # legal sending hours by country (default on)
# frequency_cap: {{messages: 3, hours: 24}}   # at most N messages to a number in H hours
# ledger: .wooxy-bulk/ledger.sqlite          # opt-outs and caps shared by campaigns
# results: {name}-results.xlsx   # .xlsx or .csv (this is the default)
# api:
#   url: https://api.wooxy.com/v3   # WOOXY_API_URL overrides it; the key is WOOXY_API_KEY
#   concurrency: 10                 # 1..10 requests at once
#   timeout_s: 30
#   max_attempts: 3
"""
