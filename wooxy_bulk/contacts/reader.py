"""Contacts files read as text, header first, rows streamed: delimited text (text.py) or a
workbook sheet (workbook.py), after checking that the content is what the name says
(filekind.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

from ..errors import display_path, located
from .filekind import TEXT, WORKBOOKS, check_kind, sniff
from .text import TextSource
from .workbook import WorkbookSource

Row = tuple[int, tuple[str, ...]]
Records = Generator[tuple[int, tuple[str, ...]], None, None]

_EMPTY = "is empty; it needs a header row naming the columns, such as phone"
_FORMATS = "use .csv, .tsv, .txt, .xlsx, .xlsm, .xlsb, .xls or .ods (Excel: Save As 'CSV UTF-8')"


class Contacts:
    """A contacts file: its trimmed header names, and its rows streamed on demand."""

    def __init__(self, path: Path, source: TextSource | WorkbookSource) -> None:
        self.path = path
        self._source = source
        self._header_row, self.columns = _read_header(self, source.records(), source.first_column)

    @property
    def where(self) -> str:
        """What was read, for the dry run: "sheet 'Contacts'" or "Windows-1252 text"."""
        return self._source.where

    @property
    def sheet_name(self) -> str | None:
        """The workbook sheet read; None for a text file."""
        return getattr(self._source, "sheet_name", None)

    @property
    def read_from(self) -> str:
        """The file and what of it was read, with the sheets passed over and why: "contacts.xlsx,
        sheet 'Contacts' (not read: 'Old list 2022' (hidden))"."""
        text = f"{display_path(self.path)}, {self.where}"
        skipped = getattr(self._source, "skipped", [])
        return f"{text} (not read: {', '.join(skipped)})" if skipped else text

    def rows(self, phone: int | None = None, used: Iterable[int] | None = None) -> Iterator[Row]:
        """(row number, cells) for every non-empty data row; reads the file again on each call.

        ``phone`` and ``used`` (the phone column and the columns the template reads) limit the
        cells whose number formats a workbook's XML is read for; by default, every cell.
        """
        width, header_row = len(self.columns), self._header_row
        for number, cells in self._source.records(final=True, phone=phone, used=used):
            if number > header_row:
                if len(cells) != width:
                    cells = _fit(self, number, cells, width, self._source.first_column)
                if any(cells) or number in self._source.problems:  # only error values in it
                    yield number, cells

    def problem(self, number: int, cells: tuple[str, ...], columns: Iterable[int]) -> str | None:
        """Why an empty cell among ``columns`` of a row is unusable: it holds an error value or
        a formula with no stored value ("the phone cell holds the error #N/A"); None if not.
        Asked for rows that failed, so the sheet's XML is read only when such a row exists."""
        empty = [index for index in columns if not cells[index]]
        found = self._source.problems_of(number) if empty else None
        for index in empty:
            if found and index in found:
                return f"the {self.columns[index]} cell holds {found[index]}"
        return None

    def column_index(self, name: str, key: str) -> int:
        """The index of column ``name`` (exact, else any case); InputError naming the sheet read,
        the columns it has and the other sheets that have the column."""
        if name in self.columns:
            return self.columns.index(name)
        folded = [c.casefold() for c in self.columns]
        if name.casefold() in folded:
            return folded.index(name.casefold())
        found = ", ".join(self.columns) or "none"
        message = (
            f"no column {name!r} (the campaign's {key}); the columns are: {found}."
            f" Set {key} in the campaign to one of them"
        )
        if isinstance(self._source, WorkbookSource):
            message = f"{self.where}: {message}"
            others = self._source.sheets_with(name)
            if others:
                listed = " and ".join(f"'{n}'" for n in others)
                message += f", or read sheet {listed}, which has it (sheet: {others[0]})"
        raise located(self.path, message)

    def error(self, message: str) -> Exception:
        """An InputError about this file, naming the sheet for a workbook."""
        if isinstance(self._source, WorkbookSource):
            return located(self.path, f"{self.where}: {message}")
        return located(self.path, message)


def open_contacts(
    path: Path, sheet: str | int | None = None, encoding: str | None = None
) -> Contacts:
    """Open a contacts file and read its header; every problem is an InputError.

    ``sheet`` picks a workbook's sheet; ``encoding`` (the campaign's contacts_encoding) says how
    a text file is encoded where detection cannot be sure.
    """
    suffix = path.suffix.lower()
    if suffix not in TEXT + WORKBOOKS:
        kind = f"a {suffix} file" if suffix else "a file without an extension"
        raise located(path, f"is {kind}; {_FORMATS}")
    if not path.is_file():
        raise located(path, "is not a file" if path.exists() else "file not found")
    kind = sniff(path)
    check_kind(path, kind)
    if kind == "text":
        if sheet is not None:
            raise located(path, "is a text file, which has no sheets; remove the sheet setting")
        return Contacts(path, TextSource(path, encoding))
    if encoding is not None:
        raise located(
            path, "is a workbook, which says its own encoding; remove the contacts_encoding setting"
        )
    return Contacts(path, WorkbookSource(path, kind, sheet))


def _read_header(
    contacts: Contacts, records: Records, first_column: int
) -> tuple[int, tuple[str, ...]]:
    """The first non-empty record's number, and its cells made into unique column names."""
    number, cells = next(((n, cells) for n, cells in records if any(cells)), (0, ()))
    records.close()
    names = [cell.strip("\ufeff\u200b").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise contacts.error(_EMPTY)
    names = [name or f"column_{first_column + i}" for i, name in enumerate(names)]
    twice = ", ".join(f"'{name}'" for name, count in Counter(names).items() if count > 1)
    if twice:
        raise contacts.error(
            f"row {number}: the header repeats {twice}; give each column its own name"
        )
    return number, tuple(names)


def _fit(
    contacts: Contacts, number: int, cells: tuple[str, ...], width: int, first: int
) -> tuple[str, ...]:
    """Pad a short row; refuse a row with a value beyond the header."""
    if len(cells) < width:
        return cells + ("",) * (width - len(cells))
    extra = next((i for i in range(width, len(cells)) if cells[i]), None)
    if extra is not None:
        where = f"column {first + extra} ({_letters(first + extra)})"
        msg = f"has a value in {where}, which has no header; add a header or delete it"
        raise contacts.error(f"row {number}: {msg}")
    return cells[:width]


def _letters(column: int) -> str:
    """A 1-based column number as spreadsheet letters: 5 → E, 28 → AB."""
    letters = ""
    while column:
        column, digit = divmod(column - 1, 26)
        letters = chr(65 + digit) + letters
    return letters
