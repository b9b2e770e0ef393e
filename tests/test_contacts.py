"""Tests for wooxy_bulk.contacts: CSV and XLSX files as Excel leaves them, read as text."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from wooxy_bulk.contacts import Row, open_contacts
from wooxy_bulk.errors import InputError, display_path

SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"
EMPTY = "is empty; it needs a header row naming the columns, such as phone"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path: Path, sheet: str | int | None = None) -> tuple[tuple[str, ...], list[Row]]:
    contacts = open_contacts(path, sheet)
    return contacts.columns, list(contacts.rows())


def error_of(path: Path, sheet: str | int | None = None) -> str:
    """The InputError message for reading the whole file, without its "path: " prefix."""
    with pytest.raises(InputError) as caught:
        read(path, sheet)
    prefix = f"{display_path(path)}: "
    assert str(caught.value).startswith(prefix)
    return str(caught.value)[len(prefix) :]


@pytest.mark.parametrize(
    ("data", "columns", "rows"),
    [
        pytest.param(
            b"\xef\xbb\xbfphone,name\r\n+447400123456,Ann\r\n07400123456,Bob\r\n",
            ("phone", "name"),
            [(2, ("+447400123456", "Ann")), (3, ("07400123456", "Bob"))],
            id="utf8-bom-keeps-plus-and-zero",
        ),
        pytest.param(
            "phone;name;note\n07400 123456;Zoé;a, b\n".encode(),
            ("phone", "name", "note"),
            [(2, ("07400 123456", "Zoé", "a, b"))],
            id="semicolon",
        ),
        pytest.param(
            b"phone\tname\n00447400123456\tAnn\n",
            ("phone", "name"),
            [(2, ("00447400123456", "Ann"))],
            id="tab",
        ),
        pytest.param(
            "name;phone\nJosé Müller;07400 123456\n".encode("cp1252"),
            ("name", "phone"),
            [(2, ("José Müller", "07400 123456"))],
            id="cp1252",
        ),
        pytest.param(
            "phone\tname\r\n+447400123456\tZoë\r\n".encode("utf-16"),
            ("phone", "name"),
            [(2, ("+447400123456", "Zoë"))],
            id="utf16-unicode-text",
        ),
        pytest.param(
            "  phone ,\u00a0First Name\u00a0, city\n 1 ,\u00a0a , b\n".encode(),
            ("phone", "First Name", "city"),
            [(2, ("1", "a", "b"))],
            id="trims-headers-and-cells",
        ),
        pytest.param(
            b"phone,name\n\n1,a\n,\n  ,  \n2,b\n",
            ("phone", "name"),
            [(3, ("1", "a")), (6, ("2", "b"))],
            id="blank-rows-skipped-numbers-kept",
        ),
        pytest.param(
            b"\n;;\nphone;name\n1;a\n",
            ("phone", "name"),
            [(4, ("1", "a"))],
            id="blank-rows-above-header",
        ),
        pytest.param(
            b"phone,name,city\n1\n2,b\n",
            ("phone", "name", "city"),
            [(2, ("1", "", "")), (3, ("2", "b", ""))],
            id="short-rows-padded",
        ),
        pytest.param(
            b"phone,,name,,\n1,x,a,,\n",
            ("phone", "column_2", "name"),
            [(2, ("1", "x", "a"))],
            id="blank-header-cells",
        ),
        pytest.param(
            b'phone,note\n1,"line one\nline two"\n2,"say ""hi"", twice"\n',
            ("phone", "note"),
            [(2, ("1", "line one\nline two")), (3, ("2", 'say "hi", twice'))],
            id="quoted-cells-count-as-one-row",
        ),
        pytest.param(
            b'"Name; full",phone\n"A; B",1\n',
            ("Name; full", "phone"),
            [(2, ("A; B", "1"))],
            id="delimiter-inside-quoted-header",
        ),
        pytest.param(
            b"sep=;\r\nphone;name\r\n1;a\r\n",
            ("phone", "name"),
            [(2, ("1", "a"))],
            id="excel-sep-line",
        ),
    ],
)
def test_csv_reads_as_text(
    tmp_path: Path, data: bytes, columns: tuple[str, ...], rows: list[Row]
) -> None:
    """Encodings, delimiters and Excel damage all come out as trimmed text with spreadsheet rows."""
    assert read(write(tmp_path, "contacts.csv", data)) == (columns, rows)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("junk.csv", bytes(range(256)) * 4, f"contains binary data, not text; {SAVE_AS}"),
        (
            "book.csv",
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(100),
            "is an Excel workbook, not a CSV file; rename it to .xlsx",
        ),
        ("empty.csv", b"", EMPTY),
        ("blank.csv", b"\r\n\r\n ; ;\r\n", EMPTY),
        ("bom-only.csv", b"\xef\xbb\xbf", EMPTY),
        (
            "dup.csv",
            b"phone,name,Phone, phone \n1,2,3,4\n",
            "row 1: the header repeats 'phone'; give each column its own name",
        ),
        (
            "extra.csv",
            b"phone,name\n1,a\n2,b,,oops\n",
            "row 3: has a value in column 4 (D), which has no header; add a header or delete it",
        ),
        (
            "mixed.csv",
            "phone,name\n1,Zoë\n2,Chloë\n3,Jos".encode() + b"\xe9\n",
            f"row 4: is not UTF-8 text (byte 0xE9); {SAVE_AS}",
        ),
        (
            "sjis.csv",
            "名前,電話\n山田,0312345678\n".encode("shift_jis"),
            f"is not UTF-8 text and its encoding cannot be told; {SAVE_AS}",
        ),
        (
            "list.txt",
            b"phone\n1\n",
            "is a .txt file; use a .csv or .xlsx file (Excel: Save As 'CSV UTF-8')",
        ),
        (
            "contacts",
            b"phone\n1\n",
            "is a file without an extension; use a .csv or .xlsx file (Excel: Save As 'CSV UTF-8')",
        ),
    ],
)
def test_csv_refused(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    """Files that cannot be read as contacts raise InputError: path first, then what to do."""
    assert error_of(write(tmp_path, name, data)) == message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    """A missing path or a folder is refused before anything is read."""
    assert error_of(tmp_path / "nope.csv") == "file not found"
    (tmp_path / "dir.csv").mkdir()
    assert error_of(tmp_path / "dir.csv") == "is not a file"


def test_csv_with_sheet_refused(tmp_path: Path) -> None:
    """Asking for a sheet of a CSV file is a mistake in the campaign, said so."""
    path = write(tmp_path, "c.csv", b"phone\n1\n")
    message = "is a CSV file, which has no sheets; remove the sheet setting"
    assert error_of(path, "Contacts") == message


def test_bad_bytes_late_in_file_name_their_row(tmp_path: Path) -> None:
    """A decode error past the sampled start stops the stream, naming the row that holds it."""
    lines = [b"phone,name"] + [b"+4474001%05d,Name %d" % (i, i) for i in range(6000)]
    lines.insert(5001, "07400 999999,Jos".encode("cp1252") + b"\xe9")
    path = write(tmp_path, "late.csv", b"\n".join(lines) + b"\n")
    contacts = open_contacts(path)
    seen: list[int] = []
    with pytest.raises(InputError) as caught:
        for number, _cells in contacts.rows():
            seen.append(number)
    assert (
        str(caught.value)
        == f"{display_path(path)}: row 5002: is not UTF-8 text (byte 0xE9); {SAVE_AS}"
    )
    assert seen == list(range(2, 2 + len(seen))) and 0 < len(seen) < 5001


def test_rows_can_be_read_again(tmp_path: Path) -> None:
    """rows() re-reads the file each time and gives the same rows."""
    contacts = open_contacts(write(tmp_path, "c.csv", b"phone\n1\n\n2\n"))
    assert list(contacts.rows()) == list(contacts.rows()) == [(2, ("1",)), (4, ("2",))]


def contacts_workbook(path: Path) -> Path:
    """A workbook as Excel users make them: phones stored as numbers, dates, two sheets."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    sheet.append([" phone ", "name", "joined", "score", "vip", None, None])
    sheet.append([447700900123, "Ann", date(2024, 3, 1), 7.5, True])
    sheet.append([4.4770090012e11, "Bob", datetime(2024, 3, 1, 10, 30), 3, False])
    sheet.append([7700900123, "  Cy\u00a0", datetime(2024, 3, 2), 0.1 + 0.2, None])
    sheet.append([None])
    sheet.append(["+447400123456", None, None, -2.0, None])
    sheet.append([12345678901234567890, None, None, None, None])
    sheet.append([2.0**53 + 2, None, None, None, None])
    other = book.create_sheet("Other")
    other.append(["Mobile", None, "note"])
    other.append(["07400 123456", "x", "hi"])
    book.save(path)
    return path


XLSX_ROWS = [
    (2, ("447700900123", "Ann", "2024-03-01", "7.5", "TRUE")),
    (3, ("447700900120", "Bob", "2024-03-01 10:30:00", "3", "FALSE")),
    (4, ("7700900123", "Cy", "2024-03-02", "0.3", "")),
    (6, ("+447400123456", "", "", "-2", "")),
    (7, ("1.234567890123457e+19", "", "", "", "")),
    (8, ("9.007199254740994e+15", "", "", "", "")),
]


@pytest.mark.parametrize(
    ("sheet", "columns", "rows"),
    [
        (None, ("phone", "name", "joined", "score", "vip"), XLSX_ROWS),
        (0, ("phone", "name", "joined", "score", "vip"), XLSX_ROWS),
        ("Other", ("Mobile", "column_2", "note"), [(2, ("07400 123456", "x", "hi"))]),
        (1, ("Mobile", "column_2", "note"), [(2, ("07400 123456", "x", "hi"))]),
    ],
)
def test_xlsx_cells_become_text(
    tmp_path: Path, sheet: str | int | None, columns: tuple[str, ...], rows: list[Row]
) -> None:
    """Numeric phones keep exact digits, inexact ones stay scientific; dates ISO; sheet chosen."""
    assert read(contacts_workbook(tmp_path / "c.xlsx"), sheet) == (columns, rows)


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("Nope", "has no sheet 'Nope'; its sheets are: 'Contacts', 'Other'"),
        (2, "has no sheet 2; its sheets are: 'Contacts', 'Other'"),
    ],
)
def test_xlsx_missing_sheet(tmp_path: Path, sheet: str | int, message: str) -> None:
    """A sheet that is not there is refused with the list of sheets there are."""
    assert error_of(contacts_workbook(tmp_path / "c.xlsx"), sheet) == message


def test_xlsx_offset_table(tmp_path: Path) -> None:
    """A table starting at B3 keeps the sheet's row numbers and column letters."""
    book = openpyxl.Workbook()
    sheet = book.active
    for ref, value in {"B3": "phone", "D3": "name", "B4": 447400123456, "D4": "Ann"}.items():
        sheet[ref] = value
    sheet["B6"], sheet["E6"] = 447400123457, "stray"
    path = tmp_path / "offset.xlsx"
    book.save(path)
    contacts = open_contacts(path)
    assert contacts.columns == ("phone", "column_3", "name")
    rows = contacts.rows()
    assert next(rows) == (4, ("447400123456", "", "Ann"))
    with pytest.raises(InputError, match=r"row 6: has a value in column 5 \(E\), which has no"):
        next(rows)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really a zip", "is not a readable Excel workbook"),
        (b"phone,name\n1,a\n", "is not a readable Excel workbook"),
    ],
)
def test_xlsx_unreadable(tmp_path: Path, data: bytes, message: str) -> None:
    """A file named .xlsx that is no workbook is refused with advice to re-save it."""
    text = error_of(write(tmp_path, "c.xlsx", data))
    assert text.startswith(message)
    assert text.endswith("open it in Excel, save it as .xlsx")


def test_xlsx_empty_sheet(tmp_path: Path) -> None:
    """A workbook whose sheet is blank has no header and says so."""
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert error_of(path) == EMPTY
