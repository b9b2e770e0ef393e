"""What calamine's values do not say about an .xlsx/.xlsm sheet: each cell's number format,
its error value (#N/A, #REF!), or a formula that was never calculated (no stored value).

The workbook's styles are read with openpyxl's stylesheet parser. The sheet's XML is then read
with expat, in step with calamine's rows, and only where it can matter: when the styles hold a
number format other than General and text, or the sheet holds formulas or error values at all.
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

Detail = tuple[str | None, str | None]  # (number format code, problem)

_CHUNK = 1 << 16
_PLAIN = frozenset(("General", "@"))
_FORMULA_OR_ERROR = re.compile(rb"<(?:\w+:)?f[\s>/]|\st=[\"']e[\"']")
_REF = re.compile(r"([A-Z]+)(\d+)")
_NO_VALUE = "a formula with no stored value: open and save the file in Excel or Calc"
_TEXT_TYPES = frozenset(("s", "str", "inlineStr", "b"))


def open_details(path: Path, sheet: str) -> SheetDetails | None:
    """The details of one sheet, or None when it has nothing calamine's values miss."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return None
    try:
        formats = _cell_formats(archive)
        part = _sheet_part(archive, sheet)
        if part is None:
            archive.close()
            return None
        if all(code in _PLAIN for code in formats) and not _has_formulas(archive, part):
            archive.close()
            return None
        return SheetDetails(archive, part, formats)
    except Exception:  # a workbook calamine reads but openpyxl cannot: its values still count
        archive.close()
        return None


def _cell_formats(archive: zipfile.ZipFile) -> list[str]:
    """The number format code of each cell style (cellXfs), by style index."""
    try:
        sheet = Stylesheet.from_tree(fromstring(archive.read("xl/styles.xml")))
    except KeyError:
        return []
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


def _has_formulas(archive: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet's XML holds a formula or an error cell anywhere (a quick byte scan)."""
    with archive.open(part) as stream:
        tail = b""
        while chunk := stream.read(1 << 20):
            if _FORMULA_OR_ERROR.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


class SheetDetails:
    """The sheet's XML read by expat as far as the row asked for; row() hands out that row's
    cells that have a number format or a problem, by 0-based column."""

    def __init__(self, archive: zipfile.ZipFile, part: str, formats: list[str]) -> None:
        self._archive = archive
        self._stream: IO[bytes] = archive.open(part)
        self._formats = formats
        self._pending: dict[int, dict[int, Detail]] = {}
        self._row = self._column = self._done = 0
        self._cell: tuple[int, str | None, str | None] | None = None
        self._formula = False
        self._value: list[str] | None = None
        self._eof = False
        self._parser = expat.ParserCreate(namespace_separator="}")
        self._parser.buffer_text = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end

    def row(self, number: int) -> dict[int, Detail]:
        """The details of sheet row ``number`` (1-based); rows must be asked for in order."""
        while self._done < number and not self._eof:
            chunk = self._stream.read(_CHUNK)
            self._eof = not chunk
            self._parser.Parse(chunk, self._eof)
            if self._eof:
                self.close()
        for old in [n for n in self._pending if n < number]:
            del self._pending[old]
        return self._pending.pop(number, {})

    def close(self) -> None:
        self._stream.close()
        self._archive.close()

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition("}")[2]
        if local == "c":
            ref = _REF.match(attrs.get("r", ""))
            if ref:
                self._column = _column_index(ref.group(1))
                self._row = int(ref.group(2))
            else:
                self._column += 1
            self._cell = (self._column, attrs.get("s"), attrs.get("t"))
            self._formula, self._value = False, None
        elif local == "row":
            self._done = self._row
            self._row = int(attrs.get("r") or self._row + 1)
            self._column = -1
        elif local == "f":
            self._formula = True
        elif local == "v" and self._cell is not None:
            self._value = []
            self._parser.CharacterDataHandler = self._value.append

    def _end(self, name: str) -> None:
        local = name.rpartition("}")[2]
        if local == "v":
            self._parser.CharacterDataHandler = None
        elif local == "c" and self._cell is not None:
            detail = self._detail(*self._cell)
            if detail is not None:
                self._pending.setdefault(self._row, {})[self._cell[0]] = detail
            self._cell = None
        elif local == "sheetData":
            self._done = self._row

    def _detail(self, column: int, style: str | None, kind: str | None) -> Detail | None:
        value = "".join(self._value).strip() if self._value is not None else ""
        if kind == "e":
            return None, f"the error {value or '#VALUE!'}"
        if self._formula and not value and kind not in _TEXT_TYPES:
            return None, _NO_VALUE
        if style and kind not in _TEXT_TYPES:
            index = int(style)
            code = self._formats[index] if index < len(self._formats) else "General"
            if code not in _PLAIN:
                return code, None
        return None


def _column_index(letters: str) -> int:
    """Spreadsheet letters as a 0-based column: A → 0, AB → 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1
