"""Delimited text contacts (.csv, .tsv, .txt): encoding, delimiter and records, every cell text."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Generator
from pathlib import Path

from ..errors import InputError, located
from .codepages import SAVE_AS, Encoding, detect, encoding_of

Records = Generator[tuple[int, tuple[str, ...]], None, None]

_SAMPLE_CHARS = 1 << 16
_SEP_LINE = re.compile(r'"?sep=(.)"?\r?(?:\n|$)', re.IGNORECASE)
_UNCLOSED = (
    'a quote (") opens in this row and is never closed, so every row after it would be read'
    " as one cell; close the quote or remove it"
)
_STRAY_QUOTE = (
    'a quoted cell has more text after its closing quote ("a" b); put the whole cell in quotes'
    ' and double the quotes inside it ("""a"" b")'
)


class TextSource:
    """A delimited text file: its encoding (detected, or the campaign's contacts_encoding) and
    its delimiter (a ``sep=`` first line, else the commonest of , ; tab) found once at open."""

    first_column = 1

    def __init__(self, path: Path, encoding: str | None = None) -> None:
        self.path = path
        self.encoding: Encoding = encoding_of(encoding) if encoding else detect(path)
        self.delimiter, self.sep_line = _detect_delimiter(self._start())
        self.where = f"encoding {self.encoding.label}"
        self.problems: dict[int, dict[int, str]] = {}  # none: text has no error values

    def problems_of(self, number: int) -> dict[int, str]:
        """A text file's cells are all plain text: never an error value or a formula."""
        return {}

    def _start(self) -> str:
        """The first characters of the file, decoded leniently (errors surface with their row)."""
        try:
            with self.path.open("rb") as raw:
                text = io.TextIOWrapper(raw, encoding=self.encoding.codec, errors="replace")
                return text.read(_SAMPLE_CHARS)
        except OSError as exc:
            raise located(self.path, f"cannot be read ({exc.strerror or exc})") from None

    def records(self, final: bool = False, errors: str = "strict", **_focus: object) -> Records:
        """(record number, trimmed cells) from record 1; a leading ``sep=`` line is not counted.

        A record is a spreadsheet row: a quoted cell may hold line breaks. ``final`` and the
        workbook's focus (phone, used) are unused: a text file has no formats and holds nothing
        in memory between reads.
        """
        number = line = 0  # the last record read, and the physical line it ended on
        reader = None
        try:
            with self.path.open("rb") as raw:
                text = io.TextIOWrapper(
                    raw, encoding=self.encoding.codec, errors=errors, newline=""
                )
                reader = csv.reader(text, delimiter=self.delimiter, strict=True)
                records = enumerate(reader, 0 if self.sep_line else 1)
                if self.sep_line:
                    next(records, None)
                for number, record in records:
                    line = reader.line_num
                    yield number, tuple(map(str.strip, record))
        except UnicodeDecodeError as exc:
            raise self._decode_error(exc, number + 1) from None
        except csv.Error as exc:
            lines = (reader.line_num if reader is not None else line) - line
            raise self._csv_error(exc, number + 1, lines) from None
        except OSError as exc:
            raise located(self.path, f"cannot be read ({exc.strerror or exc})") from None

    def _csv_error(self, exc: csv.Error, row: int, lines: int) -> InputError:
        """The row where the record that cannot be parsed begins: where its quote opened, when
        the record ran to the end of the file or over several lines."""
        text = str(exc)
        if "unexpected end of data" in text or ("expected after" in text and lines > 1):
            return located(self.path, f"row {row}: {_UNCLOSED}")
        if "expected after" in text:
            return located(self.path, f"row {row}: {_STRAY_QUOTE}")
        return located(self.path, f"row {row}: cannot be read as CSV ({text})")

    def _decode_error(self, exc: UnicodeDecodeError, near: int) -> InputError:
        """Name the first row with bytes that are not text in the file's encoding."""
        bad = (n for n, cells in self.records(errors="replace") if "\ufffd" in "".join(cells))
        row = next(bad, near)
        byte = exc.object[exc.start : exc.start + 1].hex().upper()
        name = self.encoding.label
        advice = "check contacts_encoding in the campaign, or " if name != "UTF-8" else ""
        return located(
            self.path, f"row {row}: is not {name} text (byte 0x{byte}); {advice}{SAVE_AS}"
        )


def _detect_delimiter(text: str) -> tuple[str, bool]:
    """``,`` ``;`` or tab: the commonest outside quotes in the first line (or a ``sep=`` line)."""
    declared = _SEP_LINE.match(text.lstrip("\ufeff"))
    if declared:
        return declared.group(1), True
    unquoted = re.sub(r'"[^"]*"', "", text)
    line = next((line for line in unquoted.splitlines() if line.strip()), "")
    counts = {delimiter: line.count(delimiter) for delimiter in "\t;,"}  # ties: tab, then ;
    return max(counts, key=lambda key: counts[key]) if any(counts.values()) else ",", False


def check_codec(name: str) -> str | None:
    """Why ``name`` is no encoding Python knows (for the campaign's contacts_encoding), or None."""
    try:
        codecs.lookup(name)
    except LookupError:
        return f"{name!r} is not an encoding name; use one such as cp1252, cp1250, mac_roman, utf-8"
    return None
