"""Workbook contacts (.xlsx, .xlsm, .xlsb, .xls, .ods) through calamine, one sheet, cells as text.

The sheet read is the campaign's ``sheet``, else the first visible worksheet with data: a hidden
sheet ("Old list 2022"), an empty one or a chart sheet is never read unless named. Cells become
the text the sheet shows: numbers in their number format (xlsx/xlsm; General elsewhere), phones
stored as numbers as their digits. Error values and formulas with no stored value are kept
aside as the row's problems, for the plan to report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar

from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    PasswordError,
    SheetMetadata,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from ..errors import located
from . import cellformat
from .ods_cells import open_ods_details
from .xlsx_cells import Detail, PulledDetails, open_details, workbook_formats

_T = TypeVar("_T")
Records = Generator[tuple[int, tuple[str, ...]], None, None]


class WorkbookSource:
    """One sheet of a workbook; the sheet loaded at open serves the first ``records()``."""

    def __init__(self, path: Path, kind: str, sheet: str | int | None) -> None:
        self.path = path
        self.kind = kind
        self.problems: dict[int, dict[int, str]] = {}  # of the rows whose details were read
        self.skipped: list[str] = []
        self.others: list[str] = []  # the other visible worksheets with data, for messages
        self.sheet_name, self._loaded = self._choose(sheet)
        self.where = f"sheet '{self.sheet_name}'"
        start = self._loaded.start or (0, 0)
        self.first_column = start[1] + 1
        self._codes = workbook_formats(path) if kind in _XLSX else []
        self._lazy: PulledDetails | None = None
        self._lazy_row = 0

    def records(
        self, final: bool = False, phone: int | None = None, used: Iterable[int] | None = None
    ) -> Records:
        """(row number, cells as text); ``final`` lets go of the sheet loaded at open.

        The sheet's XML is read for the number formats (or an .ods's shown text) of a row only
        when one of its watched cells holds a number: the ``phone`` cell where a format could
        change its digits (scientific, zero-padded), and the ``used`` cells (all by default).
        """
        sheet = self._loaded if self._loaded is not None else self._load(self.sheet_name)
        if final:
            self._loaded = None
        watched = self._watched(phone, used)
        details: PulledDetails | None = None
        first = self.first_column - 1
        self.problems.clear()
        try:
            for number, cells in enumerate(sheet.iter_rows(), 1):  # rows from the top
                if watched is not None and _numbers_in(cells, watched):
                    details = details or _DETAILS[self.kind](
                        self.path, self.sheet_name, self._codes
                    )
                    found = details.row(number) if details else None
                    if found:
                        yield number, self._texts(number, cells, found, first)
                        continue
                yield number, tuple(map(_cell_text, cells))
        finally:
            for reader in (details, self._lazy):
                if reader is not None:
                    reader.close()
            self._lazy = None

    def _watched(self, phone: int | None, used: Iterable[int] | None) -> frozenset[int] | None:
        """The cell indexes whose numbers need the sheet's details (_EVERY cell by default);
        None when none do."""
        if self.kind not in _DETAILS or (self.kind in _XLSX and not self._codes):
            return None
        if used is None:
            return _EVERY
        watched = set(used)
        if phone is not None and (self.kind == ".ods" or any(map(_changes_digits, self._codes))):
            watched.add(phone)
        return frozenset(watched) or None

    def _texts(
        self, number: int, cells: list[object], found: dict[int, Detail], first: int
    ) -> tuple[str, ...]:
        """A row's cells as text with their details: formats, shown text, problems noted."""
        texts = []
        for i, value in enumerate(cells):
            code, problem, shown = found.get(first + i, _PLAIN)
            if problem:
                self.problems.setdefault(number, {})[i] = problem
            numeric = not isinstance(value, str | bool)
            texts.append(shown if shown and numeric else _cell_text(value, code))
        return tuple(texts)

    def problems_of(self, number: int) -> dict[int, str]:
        """The error values and uncalculated formulas of row ``number``, by cell index: the
        sheet's XML is read now, as far as this row (asked for rows that failed, in order)."""
        if number in self.problems:
            return self.problems[number]
        if self.kind not in _DETAILS:
            return {}
        if self._lazy is None or number < self._lazy_row:
            self._lazy = _DETAILS[self.kind](self.path, self.sheet_name, [])
            if self._lazy is None:
                return {}
        self._lazy_row = number
        first = self.first_column - 1
        found = self._lazy.row(number)
        return {col - first: problem for col, (_, problem, _) in found.items() if problem}

    def sheets_with(self, column: str) -> list[str]:
        """The other visible sheets whose header row has ``column`` (any case)."""
        wanted = column.strip().casefold()
        found = []
        for name in self.others:
            rows = self._load(name).iter_rows()
            header = next((row for row in rows if any(_cell_text(v) for v in row)), [])
            if wanted in (_cell_text(v).casefold() for v in header):
                found.append(name)
        return found

    def _choose(self, sheet: str | int | None) -> tuple[str, CalamineSheet]:
        """The sheet asked for, else the first visible worksheet with data."""
        return self._open(lambda book: self._pick(book, sheet))

    def _pick(self, book: CalamineWorkbook, sheet: str | int | None) -> tuple[str, CalamineSheet]:
        sheets = list(book.sheets_metadata)
        if sheet is not None:
            meta = sheets[_sheet_index(self.path, [m.name for m in sheets], sheet)]
            if meta.typ is not SheetTypeEnum.WorkSheet:
                raise located(self.path, f"sheet '{meta.name}' is a chart sheet, not a table")
            self.others = [m.name for m in sheets if _readable(m) and m.name != meta.name]
            return meta.name, book.get_sheet_by_name(meta.name)
        chosen: tuple[str, CalamineSheet] | None = None
        for meta in sheets:
            if chosen is not None:
                if _readable(meta):
                    self.others.append(meta.name)
            elif not _readable(meta):
                kind = "hidden" if meta.visible is not SheetVisibleEnum.Visible else "a chart"
                self.skipped.append(f"'{meta.name}' ({kind})")
            else:
                loaded = book.get_sheet_by_name(meta.name)
                if _has_data(loaded):
                    chosen = meta.name, loaded
                else:
                    self.skipped.append(f"'{meta.name}' (empty)")
        if chosen is None:
            listed = ", ".join(self.skipped) or "none"
            raise located(
                self.path,
                f"has no visible sheet with data (its sheets: {listed}); name the sheet to read"
                " in the campaign's sheet key",
            )
        return chosen

    def _load(self, name: str) -> CalamineSheet:
        return self._open(lambda book: book.get_sheet_by_name(name))

    def _open(self, use: Callable[[CalamineWorkbook], _T]) -> _T:
        try:
            with CalamineWorkbook.from_path(self.path) as book:
                return use(book)
        except PasswordError:
            msg = "is password-protected; save a copy without the password"
        except CalamineError as exc:
            msg = f"is not a readable workbook ({exc}); open it and save it again as .xlsx"
        except OSError as exc:
            msg = f"cannot be read ({exc.strerror or exc})"
        raise located(self.path, msg)


_XLSX = (".xlsx", ".xlsm")
_DETAILS = {".xlsx": open_details, ".xlsm": open_details, ".ods": open_ods_details}
_PLAIN: Detail = (None, None, None)


def _changes_digits(code: str) -> bool:
    """A format that shows a number's digits otherwise than General: 4.48E+11, 07911123456."""
    return cellformat.is_scientific(code) or bool(re.fullmatch(r"0{2,}", code.strip()))


_EVERY: frozenset[int] = frozenset()  # by identity: every cell is watched


def _numbers_in(cells: list[object], watched: frozenset[int]) -> bool:
    """Whether a watched cell of the row holds a number, date or time (not text, not a bool)."""
    if watched is _EVERY:
        return any(not isinstance(value, str | bool) for value in cells)
    width = len(cells)
    return any(i < width and not isinstance(cells[i], str | bool) for i in watched)


def _readable(meta: SheetMetadata) -> bool:
    return meta.typ is SheetTypeEnum.WorkSheet and meta.visible is SheetVisibleEnum.Visible


def _has_data(sheet: CalamineSheet) -> bool:
    return any(any(_cell_text(v) for v in row) for row in sheet.iter_rows())


def _sheet_index(path: Path, names: list[str], sheet: str | int) -> int:
    """The 0-based index of the sheet asked for: by name (exact, else any case), or by index."""
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return sheet
    if isinstance(sheet, str):
        if sheet in names:
            return names.index(sheet)
        folded = [name.casefold() for name in names]
        if sheet.strip().casefold() in folded:
            return folded.index(sheet.strip().casefold())
    listed = ", ".join(f"'{name}'" for name in names) or "none"
    raise located(path, f"has no sheet {sheet!r}; its sheets are: {listed}")


def _cell_text(value: object, code: str | None = None) -> str:
    """A cell as the text the sheet shows: 447700900123.0 → "447700900123", 0.2 in 0% → "20%"."""
    match value:
        case str():
            return value.strip()
        case bool():
            return "TRUE" if value else "FALSE"
        case int() | float() | datetime() | date() | time() | timedelta() if code:
            shown = cellformat.render(value, code)
            if shown is not None:
                return shown
    match value:
        case float():
            return cellformat.general(value)
        case int():
            return str(value)
        case datetime() if value.time() == time(0):
            return value.date().isoformat()
        case datetime():
            return value.isoformat(sep=" ", timespec="seconds")
        case date() | time():
            return value.isoformat()
        case timedelta():
            return str(value)
    return str(value).strip()
