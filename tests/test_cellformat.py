"""Tests for wooxy_bulk.contacts.cellformat: values as the sheet shows them in common formats."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from wooxy_bulk.contacts.cellformat import general, is_scientific, render


@pytest.mark.parametrize(
    ("code", "value", "shown"),
    [
        ("0%", 0.2, "20%"),
        ("0.0%", 0.123, "12.3%"),
        ('"£"#,##0.00', 5, "£5.00"),
        ("[$€-407] #,##0.00", 5, "€ 5.00"),
        ('#,##0.00 "€"', 1234.5, "1,234.50 €"),
        ("#,##0", 1200, "1,200"),
        ("#,##0;(#,##0)", -1200, "(1,200)"),
        ("#,##0.00;[Red]-#,##0.00", -5, "-5.00"),
        ("0.00", 2.675, "2.68"),
        ('0 "pts"', 1200, "1200 pts"),
        ("00000000000", 7911123456, "07911123456"),
        ("0.00E+00", 447911000000, "4.48E+11"),
        ("dd/mm/yyyy", date(2024, 3, 15), "15/03/2024"),
        ("mm/dd/yyyy", date(2024, 3, 15), "03/15/2024"),
        ("d mmm yyyy", datetime(2024, 3, 15), "15 Mar 2024"),
        ("dd/mm/yyyy", 45366, "15/03/2024"),
        ("hh:mm", time(14, 30), "14:30"),
        ("h:mm AM/PM", time(14, 30), "2:30 PM"),
        ("yyyy-mm-dd hh:mm:ss", datetime(2024, 3, 15, 14, 30), "2024-03-15 14:30:00"),
        ("[h]:mm", timedelta(hours=36, minutes=30), "36:30"),
        ("General", 447911123456, None),
        ("@", 5, None),
    ],
)
def test_render(code: str, value: object, shown: str | None) -> None:
    """Percent, currency, thousands, fixed, padded, scientific, dates and times as displayed."""
    assert render(value, code) == shown  # type: ignore[arg-type]


def test_general_and_scientific() -> None:
    """General keeps exact digits and never invents them; scientific formats are recognised."""
    assert general(447911123456.0) == "447911123456"
    assert general(0.1 + 0.2) == "0.3"
    assert general(2.0**53 + 2) == "9.007199254740994e+15"
    assert is_scientific("0.00E+00") and is_scientific("##0.0E+0")
    assert not is_scientific('"E+"0') and not is_scientific("#,##0")
