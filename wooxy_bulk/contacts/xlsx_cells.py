"""What calamine's values do not say about an .xlsx/.xlsm sheet: each cell's number format,
its error value (#N/A, #REF!), or a formula that was never calculated (no stored value).

The workbook's styles are read with openpyxl's stylesheet parser. The sheet's XML is then read
with expat, in step with calamine's rows, and only where it can matter: for every row when the
styles hold a number format other than General and text; otherwise only as far as a row whose
phone or template cell is empty and fails (is it empty, an error value, or a formula?).
openpyxl's own read-only reader would cost about three times as much, and it cannot tell a formula
without a stored value from an empty cell.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO
from xml.parsers import expat

from openpyxl.packaging.manifest import Manifest
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.styles.numbers import BUILTIN_FORMATS
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.xml.constants import XLSM, XLSX, XLTM, XLTX
from openpyxl.xml.functions import fromstring

Detail = tuple[str | None, str | None, str | None]  # (number format code, problem, text shown)

_CHUNK = 1 << 16
_PLAIN = frozenset(("General", "@"))
_FORMAT_ID = re.compile(rb"numFmtId=[\"'](\d+)")
_NO_VALUE = "a formula with no stored value: open and save the file in Excel or Calc"
_TEXT_TYPES = frozenset(("s", "str", "inlineStr", "b"))


def workbook_formats(path: Path) -> list[str]:
    """The number format code of each cell style, by style index; [] when every style is
    General or text (a cheap look at styles.xml decides) or the styles cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            codes = _cell_formats(archive)
    except Exception:  # a workbook calamine reads but openpyxl cannot: its values still count
        return []
    return [] if all(code in _PLAIN for code in codes) else codes


def open_details(path: Path, sheet: str, codes: list[str]) -> SheetDetails | None:
    """A reader of one sheet's details (formats by ``codes``, errors, formulas), or None."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return None
    try:
        part = _sheet_part(archive, sheet)
        if part is not None:
            return SheetDetails(archive, part, codes)
    except Exception:  # a workbook calamine reads but openpyxl cannot: its values still count
        pass
    archive.close()
    return None


def _cell_formats(archive: zipfile.ZipFile) -> list[str]:
    """The number format code of each cell style (cellXfs), by style index; [] when every style
    is General (numFmtId 0) or text (49)."""
    try:
        styles = archive.read("xl/styles.xml")
    except KeyError:
        return []
    if set(_FORMAT_ID.findall(styles)) <= {b"0", b"49"}:
        return []
    sheet = Stylesheet.from_tree(fromstring(styles))
    custom = sheet.custom_formats
    return [
        custom.get(xf.numFmtId) or BUILTIN_FORMATS.get(xf.numFmtId, "General")
        for xf in sheet.cellXfs.xf
    ]


def _sheet_part(archive: zipfile.ZipFile, name: str) -> str | None:
    """The archive path of the worksheet called ``name``."""
    manifest = Manifest.from_tree(fromstring(archive.read("[Content_Types].xml")))
    types = (XLSX, XLSM, XLTX, XLTM)
    part = next((o.PartName for o in manifest.Override if o.ContentType in types), None)
    parser = WorkbookParser(archive, (part or "/xl/workbook.xml").lstrip("/"))
    parser.parse()
    for sheet, rel in parser.find_sheets():
        if sheet.name == name:
            return str(rel.target).lstrip("/")
    return None


class PulledDetails:
    """A sheet's XML read by expat only as far as the row asked for; row() hands out that row's
    details by 0-based column. Subclasses fill ``_pending`` and ``_done`` from their handlers."""

    def __init__(self, archive: zipfile.ZipFile, part: str) -> None:
        self._archive = archive
        self._stream: IO[bytes] = archive.open(part)
        self._pending: dict[int, dict[int, Detail]] = {}
        self._done = 0  # every row up to this one is complete
        self._eof = False
        self._parser = expat.ParserCreate(namespace_separator="}")
        self._parser.buffer_text = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end

    def row(self, number: int) -> dict[int, Detail]:
        """The details of sheet row ``number`` (1-based); rows must be asked for in order."""
        while self._done < number and not self._eof:
            try:
                chunk = self._stream.read(_CHUNK)
                self._eof = not chunk
                self._parser.Parse(chunk, self._eof)
            except (expat.ExpatError, ValueError, OSError, zipfile.BadZipFile):
                self._eof = True  # a part calamine read but expat cannot: values stay General
                self._pending.clear()
            if self._eof:
                self.close()
        for old in [n for n in self._pending if n < number]:
            del self._pending[old]
        return self._pending.pop(number, {})

    def close(self) -> None:
        self._stream.close()
        self._archive.close()

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        raise NotImplementedError

    def _end(self, name: str) -> None:
        raise NotImplementedError


_MAIN = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main}",
    "http://purl.oclc.org/ooxml/spreadsheetml/main}",  # Strict Open XML
)
_CELL, _ROW, _FORMULA, _VALUE, _DATA = range(1, 6)
_ELEMENTS = {
    namespace + local: code
    for namespace in _MAIN
    for local, code in (("c", _CELL), ("row", _ROW), ("f", _FORMULA), ("v", _VALUE))
} | {namespace + "sheetData": _DATA for namespace in _MAIN}


class SheetDetails(PulledDetails):
    """An .xlsx sheet's cells that have a number format, an error value or a formula with no
    stored value. The handlers run for every element of the sheet, so they do little."""

    def __init__(self, archive: zipfile.ZipFile, part: str, formats: list[str]) -> None:
        super().__init__(archive, part)
        self._formats = formats
        self._row = self._column = 0
        self._cell: tuple[int, str | None, str | None] | None = None
        self._formula = False
        self._value: list[str] | None = None
        self._columns: dict[str, int] = {}

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        element = _ELEMENTS.get(name)
        if element == _CELL:
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                column = self._columns.get(letters)
                if column is None:
                    column = self._columns[letters] = column_index(letters)
                self._column = column
            else:
                self._column += 1
            self._cell = (self._column, attrs.get("s"), attrs.get("t"))
            self._formula, self._value = False, None
        elif element == _ROW:
            self._done = self._row
            self._row = int(attrs.get("r") or self._row + 1)
            self._column = -1
        elif element == _FORMULA:
            self._formula = True
        elif element == _VALUE and self._cell and (self._formula or self._cell[2] == "e"):
            self._value = []
            self._parser.CharacterDataHandler = self._value.append

    def _end(self, name: str) -> None:
        element = _ELEMENTS.get(name)
        if element == _VALUE:
            self._parser.CharacterDataHandler = None
        elif element == _CELL and self._cell is not None:
            column, style, kind = self._cell
            if style or kind == "e" or self._formula:
                detail = self._detail(style, kind)
                if detail is not None:
                    self._pending.setdefault(self._row, {})[column] = detail
            self._cell = None
        elif element == _DATA:
            self._done = self._row

    def _detail(self, style: str | None, kind: str | None) -> Detail | None:
        value = "".join(self._value).strip() if self._value is not None else ""
        if kind == "e":
            return None, f"the error {value or '#VALUE!'}", None
        if self._formula and not value and kind not in _TEXT_TYPES:
            return None, _NO_VALUE, None
        if style and kind not in _TEXT_TYPES:
            index = int(style)
            code = self._formats[index] if index < len(self._formats) else "General"
            if code not in _PLAIN:
                return code, None, None
        return None


def column_index(letters: str) -> int:
    """Spreadsheet letters as a 0-based column: A → 0, AB → 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1
