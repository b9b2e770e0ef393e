"""The text an .ods sheet shows for its numbers, dates and times, and its error values (#N/A),
which calamine gives as plain values or as empty cells.

An OpenDocument cell stores its value (office:value) and the text Calc displayed when it saved
the file (text:p): "20%", "£5.00", "15/03/2024", "4.48E+11". That text is the sheet as its user
saw it, so it is taken for numeric cells. content.xml is read with expat, in step with
calamine's rows; repeated rows and cells (table:number-rows-repeated) advance the position.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .xlsx_cells import Detail, PulledDetails

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_NUMERIC = frozenset(("float", "percentage", "currency", "date", "time"))
_MAX_REPEAT = 1000  # a repeated row or cell with a value is copied this far, no further


def open_ods_details(path: Path, sheet: str, codes: list[str] | None = None) -> OdsDetails | None:
    """The shown text of the numeric cells of ``sheet`` and its error values, or None if
    content.xml cannot be had (``codes`` is unused: the file holds the text itself)."""
    try:
        archive = zipfile.ZipFile(path)
        archive.getinfo("content.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    return OdsDetails(archive, sheet)


class OdsDetails(PulledDetails):
    """content.xml's cells of one table whose value is a number, with the text they show."""

    def __init__(self, archive: zipfile.ZipFile, sheet: str) -> None:
        super().__init__(archive, "content.xml")
        self._sheet = sheet
        self._inside = False
        self._row = self._rows_repeated = self._column = 0
        self._cell: tuple[int, int, bool] | None = None  # (column, repeated, error) of a cell
        self._text: list[str] = []
        self._paragraphs: list[str] = []

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if name == _TABLE + "table":
            self._inside = attrs.get(_TABLE + "name") == self._sheet
        elif not self._inside:
            return
        elif name == _TABLE + "table-row":
            self._row += self._rows_repeated
            self._rows_repeated = int(attrs.get(_TABLE + "number-rows-repeated", "1"))
            self._column = 0
            self._done = self._row
        elif name in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
            repeated = int(attrs.get(_TABLE + "number-columns-repeated", "1"))
            error = attrs.get(_CALCEXT + "value-type") == "error"
            if error or attrs.get(_OFFICE + "value-type") in _NUMERIC:
                self._cell = (self._column, repeated, error)
                self._paragraphs = []
            self._column += repeated
        elif name == _TEXT + "p" and self._cell is not None:
            self._text = []
            self._parser.CharacterDataHandler = self._text.append
        elif name == _TEXT + "s" and self._cell is not None:
            self._text.append(" " * int(attrs.get(_TEXT + "c", "1")))

    def _end(self, name: str) -> None:
        if name == _TABLE + "table" and self._inside:
            self._inside = False
            self._done = self._row + self._rows_repeated
        elif name == _TEXT + "p" and self._cell is not None:
            self._parser.CharacterDataHandler = None
            self._paragraphs.append("".join(self._text))
        elif name in (_TABLE + "table-cell", _TABLE + "covered-table-cell") and self._cell:
            shown = "\n".join(self._paragraphs).strip()
            first, repeated, error = self._cell
            if error:
                detail: Detail = (None, f"the error {shown or '#VALUE!'}", None)
            else:
                detail = (None, None, shown)
            if shown or error:
                rows = min(self._rows_repeated, _MAX_REPEAT)
                for row in range(self._row + 1, self._row + 1 + rows):
                    cells = self._pending.setdefault(row, {})
                    for column in range(first, first + min(repeated, _MAX_REPEAT)):
                        cells[column] = detail
            self._cell = None
