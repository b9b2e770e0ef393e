"""Tests for wooxy_bulk.contacts: text files and workbooks as spreadsheet programs leave them."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
import xlwt
import yaml

from wooxy_bulk.campaign import load_campaign
from wooxy_bulk.contacts import Row, open_contacts
from wooxy_bulk.errors import InputError, display_path
from wooxy_bulk.plan.rows import Plan, prepare

SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"
EMPTY = "is empty; it needs a header row naming the columns, such as phone"
FORMATS = "use .csv, .tsv, .txt, .xlsx, .xlsm, .xlsb, .xls or .ods (Excel: Save As 'CSV UTF-8')"


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
            "is a damaged or incomplete zip file; save or download the spreadsheet again",
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
            "is not UTF-8 text and its encoding cannot be told (it may be cp932: set"
            f" contacts_encoding: cp932); {SAVE_AS}",
        ),
        ("contacts", b"phone\n1\n", f"is a file without an extension; {FORMATS}"),
        ("contacts.numbers", b"phone\n1\n", f"is a .numbers file; {FORMATS}"),
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
    message = "is a text file, which has no sheets; remove the sheet setting"
    assert error_of(path, "Contacts") == message


def test_bad_bytes_late_in_file_name_their_row(tmp_path: Path) -> None:
    """A stray byte in a UTF-8 file stops the stream, naming the row that holds it."""
    lines = [b"phone,name"] + [f"+4474001{i:05d},Zoë {i}".encode() for i in range(6000)]
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
    (4, ("7700900123", "Cy", "2024-03-02 0:00:00", "0.3", "")),
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
        (
            b"PK\x03\x04 not really a zip",
            "is a damaged or incomplete zip file; save or download the spreadsheet again",
        ),
        (
            b"phone,name\n1,a\n",
            "is a text file, not an Excel workbook (.xlsx); if it is a CSV export, rename it to"
            " .csv",
        ),
    ],
)
def test_xlsx_unreadable(tmp_path: Path, data: bytes, message: str) -> None:
    """A file named .xlsx that is no workbook is refused with advice for what it is."""
    assert error_of(write(tmp_path, "c.xlsx", data)) == message


def test_xlsx_empty_sheet(tmp_path: Path) -> None:
    """A workbook whose only sheet is blank says it has no sheet with data, naming it."""
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    assert error_of(path) == (
        "has no visible sheet with data (its sheets: 'Sheet' (empty)); name the sheet to read in"
        " the campaign's sheet key"
    )


def campaign_for(tmp_path: Path, contacts: Path, **changes: object) -> Path:
    """A campaign reading ``contacts`` with a template that uses first_name."""
    data: dict[str, object] = {
        "name": "t",
        "contacts": contacts.name,
        "default_region": "GB",
        "message": {"text": "Hi {{ first_name }}"},
        "domain": "shop.example.com",
        "results": "r.csv",
    }
    data.update(changes)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def plan_of(tmp_path: Path, contacts: Path, **changes: object) -> Plan:
    return prepare(load_campaign(campaign_for(tmp_path, contacts, **changes)))


def test_unclosed_quote_names_its_row(tmp_path: Path) -> None:
    """A quote opened in row 2 and never closed is refused at row 2, not read as one cell."""
    lines = ["phone,first_name"] + [f"+4479111234{i:02d},Name{i}" for i in range(50)]
    lines[1] = '+447911123400,"Bob'
    path = write(tmp_path, "c.csv", ("\n".join(lines) + "\n").encode())
    message = (
        'row 2: a quote (") opens in this row and is never closed, so every row after it would'
        " be read as one cell; close the quote or remove it"
    )
    assert error_of(path) == message
    lines[30] = '+447911123430,"Ann, the second"'  # a later quote closes it in the wrong place
    path.write_bytes(("\n".join(lines) + "\n").encode())
    assert error_of(path) == message
    lines[1] = '+447911123400,"Bob" Smith'  # closed, with text after it: a local mistake
    path.write_bytes(("\n".join(lines) + "\n").encode())
    assert error_of(path) == (
        'row 2: a quoted cell has more text after its closing quote ("a" b); put the whole cell'
        ' in quotes and double the quotes inside it ("""a"" b")'
    )


@pytest.mark.parametrize(
    ("name", "data", "rows"),
    [
        ("c.tsv", b"phone\tname\n+447911123456\tAnn, Bo\n", [(2, ("+447911123456", "Ann, Bo"))]),
        ("c.txt", b"sep=,\nphone,name\n1,a;b\n", [(2, ("1", "a;b"))]),
        ("c.csv", b'"sep=;"\nphone;name\n1;a,b\n', [(2, ("1", "a,b"))]),
    ],
)
def test_text_kinds_and_sep_line(tmp_path: Path, name: str, data: bytes, rows: list[Row]) -> None:
    """.tsv and .txt are delimited text too; a sep= first line names the delimiter."""
    assert read(write(tmp_path, name, data)) == (("phone", "name"), rows)


def sheets_workbook(path: Path, *, readme: bool = False) -> Path:
    """A hidden old list first, an empty sheet, a chart sheet, then the visible Contacts."""
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old list 2022"
    old.append(["phone", "first_name"])
    old.append([447911000001, "Stale"])
    old.sheet_state = "hidden"
    book.create_sheet("Empty")
    book.create_chartsheet("Chart")
    if readme:
        book.create_sheet("Read me").append(["This list is for the spring sale."])
    contacts = book.create_sheet("Contacts")
    contacts.append(["phone", "first_name"])
    contacts.append([447911123456, "Ann"])
    book.save(path)
    return path


def test_hidden_empty_and_chart_sheets_are_skipped(tmp_path: Path) -> None:
    """The default sheet is the first visible worksheet with data; a hidden one only by name."""
    path = sheets_workbook(tmp_path / "c.xlsx")
    contacts = open_contacts(path)
    assert list(contacts.rows()) == [(2, ("447911123456", "Ann"))]
    assert contacts.read_from == (
        f"{display_path(path)}, sheet 'Contacts' (not read: 'Old list 2022' (hidden),"
        " 'Empty' (empty), 'Chart' (a chart))"
    )
    assert read(path, "Old list 2022")[1] == [(2, ("447911000001", "Stale"))]
    assert error_of(path, "Chart") == "sheet 'Chart' is a chart sheet, not a table"


def test_readme_sheet_names_the_sheet_with_the_phone_column(tmp_path: Path) -> None:
    """A read-me sheet read by default: the message names it and the sheet that has phone."""
    path = sheets_workbook(tmp_path / "c.xlsx", readme=True)
    with pytest.raises(InputError) as caught:
        plan_of(tmp_path, path)
    assert str(caught.value) == (
        f"{display_path(path)}: sheet 'Read me': no column 'phone' (the campaign's phone_column);"
        " the columns are: This list is for the spring sale.. Set phone_column in the campaign to"
        " one of them, or read sheet 'Contacts', which has it (sheet: Contacts)"
    )
    assert [r.phone for r in plan_of(tmp_path, path, sheet="Contacts").rows] == ["+447911123456"]


def formatted_workbook(path: Path) -> Path:
    """Cells in the number formats of the real failure, written by openpyxl as Excel would."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["phone", "first_name", "off", "price", "day", "at", "points"])
    sheet.append([447911123456, "Ann", 0.2, 5, datetime(2024, 3, 15), time(14, 30), 1200])
    for ref, code in {
        "C2": "0%",
        "D2": '"£"#,##0.00',
        "E2": "dd/mm/yyyy",
        "F2": "hh:mm",
        "G2": "#,##0",
    }.items():
        sheet[ref].number_format = code
    book.save(path)
    return path


def test_formatted_cells_read_as_shown(tmp_path: Path) -> None:
    """20%, £5.00, 15/03/2024, 14:30 and 1,200 reach the text as the sheet shows them."""
    path = formatted_workbook(tmp_path / "c.xlsx")
    template = "{{ off }} off, now {{ price }}, on {{ day }} at {{ at }}, {{ points }} pts"
    plan = plan_of(tmp_path, path, message={"text": template})
    assert plan.rows[0].text == "20% off, now £5.00, on 15/03/2024 at 14:30, 1,200 pts"


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter"])
def test_scientific_phone_is_refused(tmp_path: Path, writer: str) -> None:
    """447911000000 shown as 4.48E+11 (digits lost to the format) is refused, not sent."""
    path = tmp_path / "c.xlsx"
    if writer == "openpyxl":
        book = openpyxl.Workbook()
        book.active.append(["phone", "first_name"])
        book.active.append([447911000000, "Ann"])
        book.active.append([447911123456, "Bob"])
        book.active["A2"].number_format = "0.00E+00"
        book.save(path)
    else:
        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, ["phone", "first_name"])
        sheet.write_number(1, 0, 447911000000, workbook.add_format({"num_format": "0.00E+00"}))
        sheet.write_row(1, 1, ["Ann"])
        sheet.write_row(2, 0, [447911123456, "Bob"])
        workbook.close()
    rows = plan_of(tmp_path, path).rows
    assert [(r.status.value, r.phone) for r in rows] == [
        ("invalid", ""),
        ("ready", "+447911123456"),
    ]
    assert "'4.48E+11' is in scientific notation" in rows[0].error


def test_error_values_and_formulas_without_value_are_named(tmp_path: Path) -> None:
    """#N/A and a formula never calculated are reported as such, for phone and template cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["phone", "first_name", "unused"])
    sheet.append(["#N/A", "Ann", None])
    sheet.append(["=A4", "Bob", None])
    sheet.append([447911123456, "#REF!", None])
    sheet.append([447911123457, "Cy", "#DIV/0!"])
    for ref in ("A2", "B4", "C5"):
        sheet[ref].data_type = "e"
    path = tmp_path / "c.xlsx"
    book.save(path)
    rows = plan_of(tmp_path, path).rows
    assert [(r.row, r.status.value, r.error) for r in rows] == [
        (2, "invalid", "the phone cell holds the error #N/A"),
        (
            3,
            "invalid",
            "the phone cell holds a formula with no stored value: open and save the file in"
            " Excel or Calc",
        ),
        (4, "invalid", "the first_name cell holds the error #REF!"),
        (5, "ready", ""),
    ]


def test_ods_and_xls_read(tmp_path: Path) -> None:
    """.ods and .xls workbooks are read; phones stored as numbers become their digits."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Contacts")
    for values in (["phone", "first_name"], [447911123456, "Zoë"]):
        row = TableRow()
        for value in values:
            if isinstance(value, int):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            row.addElement(cell)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "c.ods"))
    assert read(tmp_path / "c.ods") == (("phone", "first_name"), [(2, ("447911123456", "Zoë"))])

    book = xlwt.Workbook()
    sheet = book.add_sheet("Contacts")
    for y, values in enumerate((["phone", "first_name"], [447911123456, "Zoë"])):
        for x, value in enumerate(values):
            sheet.write(y, x, value)
    book.save(str(tmp_path / "c.xls"))
    assert read(tmp_path / "c.xls") == (("phone", "first_name"), [(2, ("447911123456", "Zoë"))])


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        (
            "c.csv",
            lambda p: openpyxl.Workbook().save(p),
            "is an Excel workbook (.xlsx), not a text (CSV) file; rename it to .xlsx (and the"
            " contacts: key with it)",
        ),
        (
            "c.csv",
            lambda p: zipped(
                p,
                {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b""},
            ),
            "is an OpenDocument spreadsheet (.ods), not a text (CSV) file; rename it to .ods (and"
            " the contacts: key with it)",
        ),
        (
            "c.xls",
            lambda p: p.write_bytes(b"<html><body><table><tr><td>phone</td></tr></table></html>"),
            "is a web page (HTML) saved under a spreadsheet name; open it in Excel or Calc and"
            " save it as .xlsx or as 'CSV UTF-8'",
        ),
        (
            "c.xlsx",
            lambda p: zipped(p, {"contacts.csv": b"phone\n1\n"}),
            "is a zip archive, not a spreadsheet; unzip it and use the spreadsheet inside",
        ),
        (
            "c.xls",
            lambda p: openpyxl.Workbook().save(p),
            "is an Excel workbook (.xlsx) under a .xls name; rename it to .xlsx",
        ),
        (
            "c.csv",
            lambda p: p.write_bytes(b"%PDF-1.4\n..."),
            "is a PDF document, not a spreadsheet; export the list from its source",
        ),
    ],
)
def test_content_not_what_the_name_says(tmp_path: Path, name: str, make, message: str) -> None:  # type: ignore[no-untyped-def]
    """A file whose content is another format than its name is refused with fitting advice."""
    path = tmp_path / name
    make(path)
    assert error_of(path) == message


def test_ods_cells_read_as_calc_shows_them(tmp_path: Path) -> None:
    """An .ods keeps the text Calc displayed; numeric cells are read as that text."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Contacts")
    header = TableRow()
    for name in ("phone", "off", "price", "day", "at"):
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=name))
        header.addElement(cell)
    table.addElement(header)
    table.addElement(TableRow(numberrowsrepeated=2))  # two empty rows, written once
    row = TableRow()
    for kind, value, shown in (
        ("float", {"value": "447911000000"}, "4.48E+11"),
        ("percentage", {"value": "0.2"}, "20%"),
        ("currency", {"value": "5"}, "£5.00"),
        ("date", {"datevalue": "2024-03-15"}, "15/03/2024"),
        ("time", {"timevalue": "PT14H30M00S"}, "14:30"),
    ):
        cell = TableCell(valuetype=kind, **value)
        cell.addElement(P(text=shown))
        row.addElement(cell)
    table.addElement(row)
    doc.spreadsheet.addElement(table)
    doc.save(str(tmp_path / "c.ods"))
    assert read(tmp_path / "c.ods") == (
        ("phone", "off", "price", "day", "at"),
        [(4, ("4.48E+11", "20%", "£5.00", "15/03/2024", "14:30"))],
    )


CALC_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
 office:version="1.3"><office:automatic-styles><style:style style:name="ta2"
 style:family="table"><style:table-properties table:display="false"/></style:style>
</office:automatic-styles><office:body><office:spreadsheet>
<table:table table:name="Old list 2022" table:style-name="ta2"><table:table-row>
<table:table-cell office:value-type="string"><text:p>phone</text:p></table:table-cell>
</table:table-row></table:table>
<table:table table:name="Contacts"><table:table-row>
<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>phone</text:p>
</table:table-cell><table:table-cell office:value-type="string" calcext:value-type="string">
<text:p>first_name</text:p></table:table-cell></table:table-row><table:table-row>
<table:table-cell table:formula="of:=NA()" office:value-type="string" office:string-value=""
 calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>
<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>Ann</text:p>
</table:table-cell></table:table-row><table:table-row>
<table:table-cell office:value-type="float" office:value="447911123456"
 calcext:value-type="float"><text:p>447911123456</text:p></table:table-cell>
<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>Bob</text:p>
</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>
</office:document-content>"""


CALC_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.3"><manifest:file-entry manifest:full-path="/"
 manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry
 manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"""


def calc_xml(text: str) -> bytes:
    """The XML on one line with no text between elements, as Calc writes it."""
    return text.replace(">\n<", "><").replace("\n", " ").encode()


def test_ods_hidden_sheet_and_error_value(tmp_path: Path) -> None:
    """An .ods as Calc writes it: its hidden sheet is passed over, its #N/A cell reported."""
    path = zipped(
        tmp_path / "c.ods",
        {
            "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": calc_xml(CALC_CONTENT),
            "META-INF/manifest.xml": calc_xml(CALC_MANIFEST),
        },
    )
    plan = plan_of(tmp_path, path)
    assert plan.read_from.endswith("sheet 'Contacts' (not read: 'Old list 2022' (hidden))")
    assert [(r.row, r.status.value, r.error or r.phone) for r in plan.rows] == [
        (2, "invalid", "the phone cell holds the error #N/A"),
        (3, "ready", "+447911123456"),
    ]


def test_contacts_encoding_key(tmp_path: Path) -> None:
    """contacts_encoding is checked, honoured for text files and refused for workbooks."""
    path = write(tmp_path, "c.csv", "phone,first_name\n+48601234567,Łukasz\n".encode("cp1250"))
    plan = plan_of(tmp_path, path, contacts_encoding="cp1250")
    assert plan.read_from == f"{display_path(path)}, encoding Windows-1250"
    assert plan.rows[0].text == "Hi Łukasz"
    with pytest.raises(InputError, match="'klingon' is not an encoding name; use one such as"):
        plan_of(tmp_path, path, contacts_encoding="klingon")
    book = formatted_workbook(tmp_path / "c.xlsx")
    with pytest.raises(InputError) as caught:
        plan_of(tmp_path, book, contacts_encoding="cp1252")
    assert str(caught.value) == (
        f"{display_path(book)}: is a workbook, which says its own encoding; remove the"
        " contacts_encoding setting"
    )
