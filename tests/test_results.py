"""The results sheet: columns, order, XLSX layout, Summary, and formula safety in both formats."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from wooxy_bulk.errors import InputError
from wooxy_bulk.plan.rows import Plan, PlanRow, Status
from wooxy_bulk.results import RESULT_COLUMNS, check_writable, write_results

FORMULA = '=HYPERLINK("http://evil.example","click")'
NOTE = "read as +447911123456 (mobile, with the + a number cell loses)"
CHECKED = "2026-12-01T08:00:00Z"


def sample_plan() -> Plan:
    rows = [
        PlanRow(
            2,
            ("+447911123456", "Olivia"),
            Status.SENT,
            "+447911123456",
            "Hi Olivia",
            1,
            sms_id="5d91513fd132d5f462796870",
            note=NOTE,
            delivery="delivered",
            delivery_checked_at=CHECKED,
        ),
        PlanRow(3, ("12345", FORMULA), Status.INVALID, error="'12345' is not a valid number"),
        PlanRow(
            5,
            ("07911123457", "@SUM(A1)"),
            Status.FAILED,
            "+447911123457",
            "Hi",
            1,
            error="Phone number +447911123457 is blacklisted",
        ),
        PlanRow(
            6,
            ("+447911123456", "-2+3"),
            Status.DUPLICATE,
            "+447911123456",
            "Hi",
            1,
            error="same number as row 2",
        ),
        PlanRow(
            7,
            ("+447911123458", "Zoë 🌸"),
            Status.NOT_SENT,
            "+447911123458",
            "Hi Zoë 🌸",
            1,
            ucs2=True,
        ),
    ]
    return Plan(("phone", "first_name"), rows)


def test_xlsx_has_every_row_in_order_with_the_result_columns(tmp_path: Path) -> None:
    """XLSX: input columns then the result columns, one row per input row, in input order."""
    path = tmp_path / "r.xlsx"
    write_results(path, sample_plan())
    sheet = openpyxl.load_workbook(path)["Results"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("phone", "first_name", *RESULT_COLUMNS)
    assert [v[2] for v in values[1:]] == [2, 3, 5, 6, 7]
    assert values[1] == (
        "+447911123456",
        "Olivia",
        2,
        "+447911123456",
        "sent",
        "5d91513fd132d5f462796870",
        None,
        NOTE,
        1,
        "Hi Olivia",
        "delivered",
        CHECKED,
    )
    assert [v[4] for v in values[1:]] == ["sent", "invalid", "failed", "duplicate", "not_sent"]
    assert values[5][-3:] == ("Hi Zoë 🌸", None, None)  # never sent: no delivery


def test_xlsx_layout_bold_frozen_header_filters_and_summary(tmp_path: Path) -> None:
    """XLSX: bold frozen header with filters, and a Summary sheet of counts and common errors."""
    path = tmp_path / "r.xlsx"
    write_results(path, sample_plan())
    book = openpyxl.load_workbook(path)
    sheet = book["Results"]
    assert sheet["A1"].font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:L6"
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["sent"] == 1 and summary["invalid"] == 1 and summary["not_sent"] == 1
    assert summary["total"] == 5
    assert summary["Phone number +… is blacklisted"] == 1  # grouped by kind, not by number


def test_xlsx_never_writes_a_formula(tmp_path: Path) -> None:
    """XLSX: input text that looks like a formula stays a text cell."""
    path = tmp_path / "r.xlsx"
    write_results(path, sample_plan())
    sheet = openpyxl.load_workbook(path)["Results"]
    cells = {sheet.cell(row=y, column=2).value: sheet.cell(row=y, column=2) for y in range(2, 7)}
    for text in (FORMULA, "@SUM(A1)", "-2+3"):
        assert cells[text].data_type == "s", text
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        ("+447911123456", "+447911123456"),
        ("-5", "-5"),
        ("-1.5", "-1.5"),
        ("Olivia", "Olivia"),
    ],
)
def test_csv_defuses_formulas_but_not_plain_numbers(
    tmp_path: Path, value: str, written: str
) -> None:
    """CSV: text Excel would run as a formula gets an apostrophe; plain numbers are left alone."""
    plan = Plan(("name",), [PlanRow(2, (value,), Status.INVALID, error=value)])
    path = tmp_path / "r.csv"
    write_results(path, plan)
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["name", *RESULT_COLUMNS]
    assert rows[1][0] == written
    assert rows[1][5] == written  # the error column too


def test_csv_has_the_note_column_after_error(tmp_path: Path) -> None:
    """CSV: the note column sits between error and segments, as the SPEC orders them."""
    path = tmp_path / "r.csv"
    write_results(path, sample_plan())
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0])
    assert columns[columns.index("error") :][:4] == ["error", "note", "segments", "text"]
    assert [r["note"] for r in rows] == [NOTE, "", "", "", ""]


def test_summary_groups_errors_by_kind(tmp_path: Path) -> None:
    """Summary: every duplicate is one line, invalid numbers are grouped by reason not value."""
    rows = [PlanRow(2, ("+447911123456",), Status.READY, "+447911123456")]
    rows += [
        PlanRow(n, ("+447911123456",), Status.DUPLICATE, error=f"same number as row {n - 1}")
        for n in range(3, 40)
    ]
    rows += [
        PlanRow(
            n, (str(n),), Status.INVALID, error=f"'{n}' is not a valid number for GB (too short)"
        )
        for n in range(40, 45)
    ]
    rows.append(PlanRow(45, ("x",), Status.INVALID, error="'x' is not a phone number"))
    path = tmp_path / "r.xlsx"
    write_results(path, Plan(("phone",), rows))
    lines = list(openpyxl.load_workbook(path)["Summary"].iter_rows(values_only=True))
    errors = lines[[line[0] for line in lines].index("most common errors") + 1 :]
    errors = errors[: [line[0] for line in errors].index(None)]  # up to the blank row
    assert [line[:2] for line in errors] == [
        ("duplicate of an earlier row", 37),
        ("'…' is not a valid number for GB (too short)", 5),
        ("'…' is not a phone number", 1),
    ]


def test_csv_is_utf8_with_bom(tmp_path: Path) -> None:
    """CSV results start with a BOM so Excel reads UTF-8 text (Zoë 🌸) correctly."""
    path = tmp_path / "r.csv"
    write_results(path, sample_plan())
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert "Zoë 🌸".encode() in raw


def test_input_columns_named_like_result_columns_are_renamed(tmp_path: Path) -> None:
    """An input column called `status` does not collide with ours: it becomes `status (input)`."""
    plan = Plan(("phone", "status"), [PlanRow(2, ("1", "vip"), Status.INVALID, error="x")])
    path = tmp_path / "r.csv"
    write_results(path, plan)
    with path.open(encoding="utf-8-sig", newline="") as f:
        assert next(csv.reader(f)) == ["phone", "status (input)", *RESULT_COLUMNS]


def test_a_failed_write_leaves_the_previous_file_and_no_partial(tmp_path: Path) -> None:
    """The sheet is replaced atomically: a failed write keeps the old file and leaves no temp."""
    path = tmp_path / "r.xlsx"
    write_results(path, sample_plan())
    before = path.read_bytes()
    bad = sample_plan()
    bad.rows[0].cells = None  # type: ignore[assignment]
    with pytest.raises(TypeError):
        write_results(path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


@pytest.mark.parametrize(
    ("value", "xml"),
    [
        ("a & b < c > d", "<t>a &amp; b &lt; c &gt; d</t>"),
        (" lead", '<t xml:space="preserve"> lead</t>'),
        ("trail\n", '<t xml:space="preserve">trail\n</t>'),
        ("\x01ctl\r", "<t>_x0001_ctl_x000D_</t>"),  # Excel's escape for control characters
        ("_x0041_", "<t>_x005F_x0041_</t>"),  # a literal escape is escaped in turn
        ("<r>bold</r>", "<t>&lt;r&gt;bold&lt;/r&gt;</t>"),
        ("x" * 40_000, f"<t>{'x' * 32_767}</t>"),  # Excel's limit: 32,767 characters
        ("🌸" * 20_000, f"<t>{'🌸' * 16_383}</t>"),  # counted in UTF-16 units, pairs kept whole
    ],
)
def test_xlsx_text_is_escaped_as_excel_reads_it(tmp_path: Path, value: str, xml: str) -> None:
    """XLSX: every text cell is XML-safe, escaped the way Excel (and xlsxwriter) escape it."""
    path = tmp_path / "r.xlsx"
    write_results(path, Plan(("name",), [PlanRow(2, (value,), Status.INVALID, error=value)]))
    with zipfile.ZipFile(path) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count(xml) == 2  # the input cell and the error cell
    assert openpyxl.load_workbook(path)["Results"].max_row == 2


def test_xlsx_streams_thousands_of_rows_in_order(tmp_path: Path) -> None:
    """XLSX: a sheet larger than one streamed chunk keeps every row, in order, with its cells."""
    count = 4_501
    rows = [
        PlanRow(n, (f"+4474001{n:05d}", ""), Status.READY, f"+4474001{n:05d}", f"Hi {n}", 1)
        for n in range(2, count + 2)
    ]
    path = tmp_path / "r.xlsx"
    write_results(path, Plan(("phone", "first_name"), rows))
    sheet = openpyxl.load_workbook(path, read_only=True)["Results"]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [v[2] for v in values] == list(range(2, count + 2))
    assert values[-1] == (
        f"+4474001{count + 1:05d}",
        None,
        count + 1,
        f"+4474001{count + 1:05d}",
        "ready",
        None,
        None,
        None,
        1,
        f"Hi {count + 1}",
        None,
        None,
    )
    assert sheet.calculate_dimension() == f"A1:L{count + 1}"


def delivery_plan() -> Plan:
    """Sent rows in every delivery state, and a row never sent."""
    words = ["delivered", "delivered", "failed", "new", "enroute", "not_found", ""]
    rows = [
        PlanRow(
            n + 2,
            (f"+4479111234{n:02d}",),
            Status.SENT,
            f"+4479111234{n:02d}",
            "Hi",
            1,
            sms_id=f"{n:024x}",
            delivery=word,
            delivery_checked_at=CHECKED if word else "",
        )
        for n, word in enumerate(words)
    ]
    rows.append(PlanRow(9, ("1",), Status.INVALID, error="bad number"))
    return Plan(("phone",), rows)


DELIVERY_COLUMN = [
    "delivered",
    "delivered",
    "failed",
    "pending",
    "pending (enroute)",
    "not_found",
    "",
    "",
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_delivery_columns_come_last_in_both_formats(tmp_path: Path, suffix: str) -> None:
    """delivery (pending for new, pending (word) for others) and delivery_checked_at, last."""
    path = tmp_path / f"r{suffix}"
    write_results(path, delivery_plan())
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    else:
        sheet = openpyxl.load_workbook(path)["Results"]
        rows = [[v or "" for v in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0][-3:] == ["text", "delivery", "delivery_checked_at"]
    assert [r[-2] for r in rows[1:]] == DELIVERY_COLUMN
    assert [r[-1] for r in rows[1:]] == [CHECKED] * 6 + ["", ""]


def test_summary_counts_by_delivery_with_a_chart(tmp_path: Path) -> None:
    """XLSX Summary: sent rows by delivery in D:E beside the status counts, and a bar chart."""
    path = tmp_path / "r.xlsx"
    write_results(path, delivery_plan())
    summary = openpyxl.load_workbook(path)["Summary"]
    table = [(r[3], r[4]) for r in summary.iter_rows(values_only=True) if r[3]]
    assert table == [
        ("delivery (sent rows)", "rows"),
        ("delivered", 2),
        ("failed", 1),
        ("pending", 1),
        ("pending (enroute)", 1),
        ("not_found", 1),
        ("not checked", 1),
    ]
    with zipfile.ZipFile(path) as book:
        chart = book.read("xl/charts/chart1.xml").decode()
    assert "<c:barChart>" in chart
    assert "Summary!$D$2:$D$7" in chart and "Summary!$E$2:$E$7" in chart


def test_xlsx_reads_back_the_same_in_openpyxl_and_calamine(tmp_path: Path) -> None:
    """XLSX: openpyxl and calamine (LibreOffice-compatible) read every cell back as written."""
    # control characters are left out: openpyxl keeps Excel's _xHHHH_ escapes (test above)
    tricky = [
        "<r>bold</r>",
        "a & b < c",
        " lead",
        "Zoë 🌸",
        FORMULA,
        "x" * 40_000,
    ]
    rows = [PlanRow(n, (v,), Status.INVALID, error=v) for n, v in enumerate(tricky, start=2)]
    path = tmp_path / "r.xlsx"
    write_results(path, Plan(("name",), rows))
    expected = [v[:32_767] for v in tricky]
    by_openpyxl = list(openpyxl.load_workbook(path)["Results"].iter_rows(values_only=True))
    with CalamineWorkbook.from_path(str(path)) as book:
        by_calamine = book.get_sheet_by_name("Results").to_python()
    assert [r[0] for r in by_openpyxl[1:]] == expected
    assert [r[5] for r in by_openpyxl[1:]] == expected
    assert [r[0] for r in by_calamine[1:]] == expected
    assert [r[5] for r in by_calamine[1:]] == expected
    assert [r[1] for r in by_calamine[1:]] == list(range(2, len(tricky) + 2))


@pytest.mark.parametrize(("rows", "refused"), [(1_048_575, False), (1_048_576, True)])
def test_xlsx_results_hold_at_most_excel_s_rows(tmp_path: Path, rows: int, refused: bool) -> None:
    """An XLSX sheet holds 1,048,576 rows with the header; more is refused, CSV takes any."""
    if refused:
        with pytest.raises(InputError, match=r"1,048,576 rows do not fit in an XLSX sheet"):
            check_writable(tmp_path / "r.xlsx", rows)
    else:
        check_writable(tmp_path / "r.xlsx", rows)
    check_writable(tmp_path / "r.csv", rows)
