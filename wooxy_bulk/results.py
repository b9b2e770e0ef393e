"""The results sheet: one row per contact row, in input order, with what happened to it.

XLSX is written with xlsxwriter in constant-memory mode, every text cell as a string (never a
formula, number or link). CSV is UTF-8 with a BOM, and any text Excel would take for a formula is
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import xlsxwriter

from .plan import Plan, PlanRow, Status

RESULT_COLUMNS = ("row", "phone_e164", "status", "sms_id", "error", "segments", "text")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_WIDTHS = {"row": 6, "phone_e164": 16, "status": 11, "sms_id": 26, "error": 40, "segments": 9}


def header(plan: Plan) -> list[str]:
    """The input's columns (renamed where they clash with ours), then the result columns."""
    ours = set(RESULT_COLUMNS)
    return [f"{c} (input)" if c in ours else c for c in plan.columns] + list(RESULT_COLUMNS)


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
    """Counts by status, and the most common errors with their counts."""
    errors = Counter(r.error for r in plan.rows if r.error)
    return plan.counts(), errors.most_common(most_common)


def _values(row: PlanRow) -> tuple[int, str, str, str, str, int, str]:
    return (row.row, row.phone, row.status.value, row.sms_id, row.error, row.segments, row.text)


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
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        _results_sheet(workbook, plan)
        _summary_sheet(workbook, plan)
    finally:
        workbook.close()


def _results_sheet(workbook: xlsxwriter.Workbook, plan: Plan) -> None:
    sheet = workbook.add_worksheet("Results")
    bold = workbook.add_format({"bold": True})
    names = header(plan)
    for col, name in enumerate(names):
        sheet.set_column(col, col, _WIDTHS.get(name, max(10, min(len(name) + 2, 30))))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(plan.rows), len(names) - 1)
    for col, name in enumerate(names):
        sheet.write_string(0, col, name, bold)
    width = len(plan.columns)
    write_string, write_number = sheet.write_string, sheet.write_number
    for y, r in enumerate(plan.rows, start=1):
        for x, cell in enumerate(r.cells):
            if cell:
                write_string(y, x, cell)
        write_number(y, width, r.row)
        for x, value in enumerate((r.phone, r.status.value, r.sms_id, r.error), start=width + 1):
            if value:
                write_string(y, x, value)
        write_number(y, width + 5, r.segments)
        if r.text:
            write_string(y, width + 6, r.text)


def _summary_sheet(workbook: xlsxwriter.Workbook, plan: Plan) -> None:
    sheet = workbook.add_worksheet("Summary")
    bold = workbook.add_format({"bold": True})
    sheet.set_column(0, 0, 60)
    sheet.set_column(1, 1, 10)
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
