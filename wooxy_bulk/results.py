"""The results sheet: one row per contact row, in input order, with what happened to it.

XLSX: xlsxwriter writes the workbook (styles, header, frozen pane, filters, Summary) with the
Results header only; the data rows are then streamed into that sheet's XML as inline strings,
escaped the way xlsxwriter escapes them. Why not ``write_string()`` per cell: writing is most of a
dry run, and a cell-by-cell write takes it past the benchmark's target (benchmarks/RESULTS.md);
and xlsxwriter passes a string shaped like ``<r>…</r>`` into the XML unescaped (it takes it for
its own rich-string markup), which would let a contact cell inject markup. The splice relies on
xlsxwriter's sheet XML, so its major version is pinned and a test reads the result back with
openpyxl and calamine. Every text cell is a string (never a formula, number or link).
CSV is UTF-8 with a BOM, and any text Excel would take for a formula is prefixed with an
apostrophe.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from . import delivery
from .delivery import label
from .errors import located
from .plan.estimate import estimate
from .plan.rows import Plan, PlanRow, Status
from .report import error_kind

RESULT_COLUMNS = (
    "row",
    "phone_e164",
    "status",
    "sms_id",
    "error",
    "note",
    "segments",
    "text",
    "delivery",
    "delivery_checked_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_WIDTHS = {
    "row": 6,
    "phone_e164": 16,
    "status": 11,
    "sms_id": 26,
    "error": 40,
    "note": 40,
    "segments": 9,
    "delivery": 12,
    "delivery_checked_at": 21,
}
_RESULTS_XML = "xl/worksheets/sheet1.xml"
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_EXCEL_MAX_TEXT = 32767  # UTF-16 units
_ROWS_PER_CHUNK = 2000
XLSX_MAX_ROWS = 1_048_576  # rows in one sheet of Excel and LibreOffice, the header included


def header(plan: Plan) -> list[str]:
    """The input's columns (renamed where they clash with ours), then the result columns."""
    ours = set(RESULT_COLUMNS)
    return [f"{c} (input)" if c in ours else c for c in plan.columns] + list(RESULT_COLUMNS)


def sandbox_results(path: Path) -> Path:
    """Where a --sandbox run writes: ``<results name>-sandbox.<ext>``, never over real sms_ids."""
    return path.with_name(f"{path.stem}-sandbox{path.suffix}")


def check_writable(path: Path, rows: int) -> None:
    """Refuse, before anything is sent, a results file that cannot be written or cannot hold
    ``rows`` data rows: the outcomes would otherwise be known only to the journal."""
    if path.suffix.lower() == ".xlsx" and rows + 1 > XLSX_MAX_ROWS:
        raise located(
            path,
            f"{rows:,} rows do not fit in an XLSX sheet (at most {XLSX_MAX_ROWS - 1:,} below the"
            " header): write the results as .csv (the results key, or --results NAME.csv)",
        )
    if path.is_dir():
        raise located(path, "is a folder: give a results file name ending in .xlsx or .csv")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise located(
            path,
            f"the results cannot be written here ({exc.strerror}): pick another file with"
            " --results or the results key",
        ) from None


def write_results(path: Path, plan: Plan) -> None:
    """Write the sheet atomically (a temporary file renamed over the target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        if path.suffix.lower() == ".csv":
            _write_csv(temporary, plan)
        else:
            _write_xlsx(temporary, plan)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def summary(plan: Plan, most_common: int = 10) -> tuple[Counter[Status], list[tuple[str, int]]]:
    """Counts by status, and the most common kinds of error with their counts."""
    errors = Counter(error_kind(r.error) for r in plan.rows if r.error)
    return plan.counts(), errors.most_common(most_common)


def _values(row: PlanRow) -> tuple[object, ...]:
    return (
        row.row,
        row.phone,
        row.status.value,
        row.sms_id,
        row.error,
        row.note,
        row.segments,
        row.text,
        label(row.delivery),
        row.delivery_checked_at,
    )


def _write_csv(path: Path, plan: Plan) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([_csv_safe(c) for c in header(plan)])
        writer.writerows(_csv_rows(plan))


def _csv_rows(plan: Plan) -> Iterator[list[object]]:
    for r in plan.rows:
        yield [_csv_safe(c) for c in r.cells] + [_csv_safe(v) for v in _values(r)]


def _csv_safe(value: object) -> object:
    """Defuse text that Excel would run as a formula: prefix it with an apostrophe."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _write_xlsx(path: Path, plan: Plan) -> None:
    names = header(plan)
    options = {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    frame = io.BytesIO()
    workbook = xlsxwriter.Workbook(frame, options)
    try:
        _results_sheet(workbook, plan, names)
        _summary_sheet(workbook, plan)
    finally:
        workbook.close()
    with (
        zipfile.ZipFile(frame) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            if info.filename == _RESULTS_XML:
                _stream_rows(target, source.read(info).decode(), plan, len(names))
            else:
                target.writestr(info, source.read(info))


def _results_sheet(workbook: xlsxwriter.Workbook, plan: Plan, names: list[str]) -> None:
    """The Results sheet's layout and header row; the data rows are streamed in afterwards."""
    sheet = workbook.add_worksheet("Results")
    bold = workbook.add_format({"bold": True})
    for col, name in enumerate(names):
        sheet.set_column(col, col, _WIDTHS.get(name, max(10, min(len(name) + 2, 30))))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(plan.rows), len(names) - 1)
    for col, name in enumerate(names):
        sheet.write_string(0, col, name, bold)


def _stream_rows(target: zipfile.ZipFile, sheet_xml: str, plan: Plan, width: int) -> None:
    """Write the Results sheet: xlsxwriter's XML with every data row added to its sheetData."""
    head, tail = sheet_xml.split("</sheetData>", 1)
    last = f"{xl_col_to_name(width - 1)}{len(plan.rows) + 1}"
    head = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>', head, count=1)
    with target.open(_RESULTS_XML, "w") as out:
        out.write(head.encode())
        rows = _xml_rows(plan, len(plan.columns))
        while chunk := "".join(islice(rows, _ROWS_PER_CHUNK)):
            out.write(chunk.encode())
        out.write(("</sheetData>" + tail).encode())


def _xml_rows(plan: Plan, inputs: int) -> Iterator[str]:
    """Each data row as XML; empty text cells are left out, as with write_string() before."""
    letters = [xl_col_to_name(i) for i in range(inputs + len(RESULT_COLUMNS))]
    at_input, at_result = letters[:inputs], letters[inputs + 1 : inputs + 6]
    at_row, at_segments, at_text = letters[inputs], letters[inputs + 6], letters[inputs + 7]
    at_last = letters[inputs + 8 :]  # delivery, delivery_checked_at
    for y, r in enumerate(plan.rows, start=2):
        cells: Sequence[str] = r.cells
        result = (r.phone, r.status.value, r.sms_id, r.error, r.note)
        text = r.text
        delivery: Sequence[str] = (label(r.delivery), r.delivery_checked_at)
        joined = "\n".join((*cells, *result, text, *delivery))
        if len(joined) > _EXCEL_MAX_TEXT // 2 or _NEEDS_ESCAPE.search(joined):
            cells, result = [_xml_text(c) for c in cells], [_xml_text(v) for v in result]
            text, delivery = _xml_text(text), [_xml_text(v) for v in delivery]
        yield "".join(
            (
                f'<row r="{y}">',
                *[_text_cell(f"{c}{y}", v) for c, v in zip(at_input, cells, strict=False) if v],
                f'<c r="{at_row}{y}"><v>{r.row}</v></c>',
                *[_text_cell(f"{c}{y}", v) for c, v in zip(at_result, result, strict=True) if v],
                f'<c r="{at_segments}{y}"><v>{r.segments}</v></c>',
                _text_cell(f"{at_text}{y}", text) if text else "",
                *[_text_cell(f"{c}{y}", v) for c, v in zip(at_last, delivery, strict=True) if v],
                "</row>",
            )
        )


def _text_cell(ref: str, value: str) -> str:
    """An inline-string cell; `value` is already XML-safe."""
    if value[0].isspace() or value[-1].isspace():
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _xml_text(value: str) -> str:
    """Text made XML-safe as xlsxwriter does: cut to Excel's 32,767 UTF-16 units, control
    characters as _xHHHH_ (a literal _xHHHH_ escaped as _x005F_xHHHH_), then & < > as entities."""
    if len(value) > _EXCEL_MAX_TEXT // 2:
        value = _utf16_cut(value, _EXCEL_MAX_TEXT)
    value = _ESCAPED_ESCAPE.sub(r"_x005F\1", value)
    value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    value = value.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _utf16_cut(value: str, units: int) -> str:
    """`value` cut to at most `units` UTF-16 units, never inside a surrogate pair."""
    used = 0
    for index, char in enumerate(value):
        used += 2 if char > "\uffff" else 1
        if used > units:
            return value[:index]
    return value


def _summary_sheet(workbook: xlsxwriter.Workbook, plan: Plan) -> None:
    sheet = workbook.add_worksheet("Summary")
    bold = workbook.add_format({"bold": True})
    sheet.set_column(0, 0, 60)
    sheet.set_column(1, 1, 10)
    sheet.set_column(3, 3, 22)
    _delivery_summary(workbook, sheet, bold, delivery.counts(plan.rows))
    counts, errors = summary(plan)
    sheet.write_string(0, 0, "status", bold)
    sheet.write_string(0, 1, "rows", bold)
    y = 1
    for status in Status:
        if counts[status]:
            sheet.write_string(y, 0, status.value)
            sheet.write_number(y, 1, counts[status])
            y += 1
    sheet.write_string(y, 0, "total", bold)
    sheet.write_number(y, 1, len(plan.rows), bold)
    y += 2
    sheet.write_string(y, 0, "most common errors", bold)
    sheet.write_string(y, 1, "rows", bold)
    for text, count in errors:
        y += 1
        sheet.write_string(y, 0, text)
        sheet.write_number(y, 1, count)
    _cost_summary(sheet, bold, plan, y + 2)


def _cost_summary(sheet: Any, bold: Any, plan: Plan, y: int) -> None:
    """Messages, segments and the estimated cost by country of what was (or would be) sent."""
    costed = estimate(plan.with_status(*_COSTED), plan.prices)
    titles = ["country", "messages", "segments"] + (["est. cost"] if costed.costs else [])
    for x, title in enumerate(titles):
        sheet.write_string(y, x, title, bold)
    for country, segments in sorted(costed.segments.items(), key=lambda kv: (-kv[1], kv[0])):
        y += 1
        sheet.write_string(y, 0, country)
        sheet.write_number(y, 1, costed.messages[country])
        sheet.write_number(y, 2, segments)
        if costed.costs is not None:
            sheet.write_number(y, 3, round(costed.costs[country], 4))
    sheet.write_string(y + 1, 0, "all countries", bold)
    sheet.write_number(y + 1, 1, sum(costed.messages.values()), bold)
    sheet.write_number(y + 1, 2, costed.total_segments, bold)
    if costed.total_cost is not None:
        sheet.write_number(y + 1, 3, round(costed.total_cost, 4), bold)


_COSTED = (Status.READY, Status.SENT, Status.UNKNOWN)  # what was, may have been or would be sent


def _delivery_summary(
    workbook: xlsxwriter.Workbook, sheet: Any, bold: Any, counts: list[tuple[str, int]]
) -> None:
    """Sent rows by delivery in columns D:E, next to the counts by status, and a chart of them."""
    sheet.write_string(0, 3, "delivery (sent rows)", bold)
    sheet.write_string(0, 4, "rows", bold)
    order = [word for word, _ in counts]
    for y, (word, count) in enumerate(counts, start=1):
        sheet.write_string(y, 3, word)
        sheet.write_number(y, 4, count)
    if not order:
        sheet.write_string(1, 3, "nothing sent")
        return
    chart = workbook.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "delivery",
            "categories": ["Summary", 1, 3, len(order), 3],
            "values": ["Summary", 1, 4, len(order), 4],
            "points": [{"fill": {"color": _DELIVERY_COLOURS.get(w, "#F2B134")}} for w in order],
            "data_labels": {"value": True},
        }
    )
    chart.set_title({"name": "Delivery of the sent messages"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})
    sheet.insert_chart(0, 6, chart)


_DELIVERY_COLOURS = {
    "delivered": "#2E9E44",
    "failed": "#C8312B",
    "not_found": "#7F7F7F",
    delivery.NOT_CHECKED: "#BFBFBF",
}
