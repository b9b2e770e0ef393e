"""Contact spreadsheets (CSV or XLSX) read as text, header first, rows streamed."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Generator, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import charset_normalizer
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, PasswordError

from .errors import InputError, located

Row = tuple[int, tuple[str, ...]]
Records = Generator[tuple[int, tuple[str, ...]], None, None]

_SAMPLE_BYTES = 1 << 16
_BOMS = (  # UTF-32 first: its little-endian BOM starts like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"
_SEP_LINE = re.compile(r'"?sep=(.)"?\r?(?:\n|$)', re.IGNORECASE)
_SINGLE_BYTE = re.compile(r"cp(?:4|7|8|125)\d+|latin_1|iso8859_\d+|mac_\w+|koi8_\w|kz1048|ptcp154")
_EMPTY = "is empty; it needs a header row naming the columns, such as phone"
_EXACT_FLOAT = 2.0**53


class Contacts:
    """A contacts file: its trimmed header names, and its rows streamed on demand."""

    def __init__(self, path: Path, source: _CsvSource | _XlsxSource) -> None:
        self.path = path
        self._source = source
        self._header_row, self.columns = _read_header(path, source.records(), source.first_column)

    def rows(self) -> Iterator[Row]:
        """(row number, cells) for every non-empty data row; reads the file again on each call."""
        width, header_row = len(self.columns), self._header_row
        for number, cells in self._source.records(final=True):
            if number > header_row:
                if len(cells) != width:
                    cells = _fit(self.path, number, cells, width, self._source.first_column)
                if any(cells):
                    yield number, cells


def open_contacts(path: Path, sheet: str | int | None = None) -> Contacts:
    """Open a .csv or .xlsx file and read its header; every problem is an InputError."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        kind = f"a {suffix} file" if suffix else "a file without an extension"
        raise located(path, f"is {kind}; use a .csv or .xlsx file (Excel: Save As 'CSV UTF-8')")
    if not path.is_file():
        raise located(path, "is not a file" if path.exists() else "file not found")
    if suffix == ".csv" and sheet is not None:
        raise located(path, "is a CSV file, which has no sheets; remove the sheet setting")
    if suffix == ".csv":
        return Contacts(path, _CsvSource(path))
    return Contacts(path, _XlsxSource(path, sheet))


def _read_header(path: Path, records: Records, first_column: int) -> tuple[int, tuple[str, ...]]:
    """The first non-empty record's number, and its cells made into unique column names."""
    number, cells = next(((n, cells) for n, cells in records if any(cells)), (0, ()))
    records.close()
    names = [cell.strip("\ufeff\u200b").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise located(path, _EMPTY)
    names = [name or f"column_{first_column + i}" for i, name in enumerate(names)]
    twice = ", ".join(f"'{name}'" for name, count in Counter(names).items() if count > 1)
    if twice:
        raise located(
            path, f"row {number}: the header repeats {twice}; give each column its own name"
        )
    return number, tuple(names)


def _fit(
    path: Path, number: int, cells: tuple[str, ...], width: int, first: int
) -> tuple[str, ...]:
    """Pad a short row; refuse a row with a value beyond the header."""
    if len(cells) < width:
        return cells + ("",) * (width - len(cells))
    extra = next((i for i in range(width, len(cells)) if cells[i]), None)
    if extra is not None:
        where = f"column {first + extra} ({_letters(first + extra)})"
        msg = f"has a value in {where}, which has no header; add a header or delete it"
        raise located(path, f"row {number}: {msg}")
    return cells[:width]


def _letters(column: int) -> str:
    """A 1-based column number as spreadsheet letters: 5 → E, 28 → AB."""
    letters = ""
    while column:
        column, digit = divmod(column - 1, 26)
        letters = chr(65 + digit) + letters
    return letters


class _CsvSource:
    """A CSV file: encoding and delimiter detected once from its start."""

    first_column = 1

    def __init__(self, path: Path) -> None:
        self.path = path
        sample, complete = _read_sample(path)
        self.encoding = _detect_encoding(path, sample, complete)
        text = codecs.getincrementaldecoder(self.encoding)("replace").decode(sample, complete)
        self.delimiter, self.sep_line = _detect_delimiter(text)
        try:
            codecs.getincrementaldecoder(self.encoding)().decode(sample, complete)
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc, 1) from None

    def records(self, final: bool = False, errors: str = "strict") -> Records:
        """(record number, trimmed cells) from record 1; a leading ``sep=`` line is not counted."""
        number = 0
        try:
            with self.path.open("rb") as raw:
                text = io.TextIOWrapper(raw, encoding=self.encoding, errors=errors, newline="")
                reader = csv.reader(text, delimiter=self.delimiter)
                records = enumerate(reader, 0 if self.sep_line else 1)
                if self.sep_line:
                    next(records, None)
                for number, record in records:
                    yield number, tuple(map(str.strip, record))
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc, number + 1) from None
        except csv.Error as exc:
            raise located(self.path, f"row {number + 1}: cannot be read as CSV ({exc})") from None
        except OSError as exc:
            raise located(self.path, f"cannot be read ({exc.strerror or exc})") from None

    def _decode_error(self, exc: UnicodeDecodeError, near: int) -> InputError:
        """Name the first row with bytes that are not text in the file's encoding."""
        bad = (n for n, cells in self.records(errors="replace") if "\ufffd" in "".join(cells))
        row = next(bad, near)
        byte = exc.object[exc.start : exc.start + 1].hex().upper()
        name = "UTF-8" if self.encoding == "utf-8-sig" else self.encoding
        return located(self.path, f"row {row}: is not {name} text (byte 0x{byte}); {_SAVE_AS}")


def _read_sample(path: Path) -> tuple[bytes, bool]:
    try:
        with path.open("rb") as f:
            sample = f.read(_SAMPLE_BYTES + 1)
    except OSError as exc:
        raise located(path, f"cannot be read ({exc.strerror or exc})") from None
    return sample[:_SAMPLE_BYTES], len(sample) <= _SAMPLE_BYTES


def _detect_encoding(path: Path, sample: bytes, complete: bool) -> str:
    """A BOM, else UTF-8 if the start decodes as UTF-8, else a confident single-byte guess."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if sample.startswith(b"PK\x03\x04"):
        raise located(path, "is an Excel workbook, not a CSV file; rename it to .xlsx")
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise located(path, "is an old Excel .xls workbook; save it as .xlsx or as 'CSV UTF-8'")
    if b"\x00" in sample:
        raise located(path, f"contains binary data, not text; {_SAVE_AS}")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, complete)
        return "utf-8-sig"
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("utf-8")("replace").decode(sample, complete)
    if sum(ch > "\x7f" for ch in text) > 2 * text.count("\ufffd"):
        return "utf-8-sig"  # mostly UTF-8 with a bad byte: reported with its row
    guess = _guess_single_byte(sample)
    if guess is None:
        raise located(path, f"is not UTF-8 text and its encoding cannot be told; {_SAVE_AS}")
    return guess


def _guess_single_byte(sample: bytes) -> str | None:
    """charset-normalizer on the non-ASCII lines; Windows-1252 wins ties (Excel's "CSV")."""
    probe = b"\n".join(line for line in sample.splitlines() if not line.isascii())[:16384]
    matches = list(charset_normalizer.from_bytes(probe, steps=1, chunk_size=len(probe)))
    if not matches:
        return None
    best = min(match.chaos for match in matches)
    tied = [match for match in matches if match.chaos <= best + 0.01]
    if any("cp1252" in match.could_be_from_charset for match in tied):
        return "cp1252"
    encoding = tied[0].encoding
    return encoding if _SINGLE_BYTE.fullmatch(encoding) else None


def _detect_delimiter(text: str) -> tuple[str, bool]:
    """``,`` ``;`` or tab: the commonest outside quotes in the first line (or a ``sep=`` line)."""
    declared = _SEP_LINE.match(text)
    if declared:
        return declared.group(1), True
    unquoted = re.sub(r'"[^"]*"', "", text)
    line = next((line for line in unquoted.splitlines() if line.strip()), "")
    counts = {delimiter: line.count(delimiter) for delimiter in "\t;,"}  # ties: tab, then ;
    return max(counts, key=lambda key: counts[key]) if any(counts.values()) else ",", False


class _XlsxSource:
    """One sheet of an .xlsx workbook; the sheet loaded at open serves the first ``rows()``."""

    def __init__(self, path: Path, sheet: str | int | None) -> None:
        self.path = path
        self.sheet = sheet
        self._loaded: CalamineSheet | None = self._load()
        start = self._loaded.start or (0, 0)
        self.first_column = start[1] + 1

    def records(self, final: bool = False) -> Records:
        """(row number, cells as text); ``final`` lets go of the sheet loaded at open."""
        sheet = self._loaded if self._loaded is not None else self._load()
        if final:
            self._loaded = None
        for number, cells in enumerate(sheet.iter_rows(), 1):
            yield number, tuple(map(_cell_text, cells))

    def _load(self) -> CalamineSheet:
        try:
            with CalamineWorkbook.from_path(self.path) as book:
                index = _sheet_index(self.path, book.sheet_names, self.sheet)
                return book.get_sheet_by_index(index)
        except PasswordError:
            msg = "is password-protected; save a copy without the password"
        except CalamineError as exc:
            msg = f"is not a readable Excel workbook ({exc}); open it in Excel, save it as .xlsx"
        except OSError as exc:
            msg = f"cannot be read ({exc.strerror or exc})"
        raise located(self.path, msg)


def _sheet_index(path: Path, names: list[str], sheet: str | int | None) -> int:
    """The 0-based index of the sheet asked for: by name, by index, or the first."""
    if sheet is None and names:
        return 0
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return sheet
    if isinstance(sheet, str) and sheet in names:
        return names.index(sheet)
    listed = ", ".join(f"'{name}'" for name in names) or "none"
    raise located(path, f"has no sheet {sheet!r}; its sheets are: {listed}")


def _cell_text(value: object) -> str:
    """An XLSX cell as the text a person sees: 447700900123.0 → "447700900123"."""
    match value:
        case str():
            return value.strip()
        case float():
            return _float_text(value)
        case bool():
            return "TRUE" if value else "FALSE"
        case datetime() if value.time() == time(0):
            return value.date().isoformat()
        case datetime():
            return value.isoformat(sep=" ", timespec="seconds")
        case date() | time():
            return value.isoformat()
        case timedelta():
            return str(value)
    return str(value).strip()


def _float_text(value: float) -> str:
    """Integers as their digits, fractions to Excel's 15 digits (0.1+0.2 → "0.3"); past 2**53
    (not exact) in scientific notation, never guessed."""
    if abs(value) < _EXACT_FLOAT:
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    text = repr(value)
    return text if "e" in text else f"{value:.15e}"  # 2**53 ≤ value < 1e16 (or inf/nan)
