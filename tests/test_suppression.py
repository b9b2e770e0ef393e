"""Suppression files: read by their phone columns (else the column of numbers), or refused."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from wooxy_bulk.errors import InputError
from wooxy_bulk.plan.phones import PhoneParser
from wooxy_bulk.plan.suppression import is_phone_column, read_suppression_file, read_suppressions


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the CRM export that once suppressed nobody: read by Mobile, not by its first column
        ("email,Mobile\nann@example.com,07400 123456\nbob@example.com,+44 7400 123457\n", 2),
        ("name,Phone \nAnn,+447400123456\nBob,\nCy,07400 123457\n", 2),
        ("Name;Phone Number;Home tel.\nAnn;07400123456;07400123458\n", 2),  # both phone columns
        ("id,MSISDN\n1,447400123456\n2,447400123457\n", 2),
        ("+447400123456\n07400123457\n", 2),  # a bare list: its first line is a number too
        ("name,notes,contact\nAnn,VIP,07400 123456\nBob,,07400 123457\n", 2),  # most numbers
    ],
)
def test_numbers_are_read_from_the_phone_columns(tmp_path: Path, text: str, expected: int) -> None:
    """Columns named like a phone column are read (any case or spacing), else the column
    holding the most numbers; every number comes out as E.164."""
    numbers, _ = read_suppression_file(write(tmp_path, "optout.csv", text), PhoneParser("GB"))
    assert len(numbers) == expected
    assert all(n.startswith("+447400") for n in numbers)


def test_a_file_without_numbers_is_an_error_naming_its_columns(tmp_path: Path) -> None:
    """A CRM export with only emails yields no number: an InputError naming file and columns."""
    path = write(tmp_path, "crm.csv", "email,Name\nann@example.com,Ann\nbob@example.com,Bob\n")
    with pytest.raises(InputError) as caught:
        read_suppressions([path], PhoneParser("GB"))
    assert str(caught.value) == (
        f"{path}: yields no phone numbers to suppress: no column holds phone numbers;"
        " its columns are: email, Name. Put the numbers never to text in a column named 'phone'"
    )


def test_an_empty_phone_column_is_an_error(tmp_path: Path) -> None:
    """A Mobile column with no valid number in it is refused, naming the column."""
    path = write(tmp_path, "crm.csv", "email,Mobile\nann@example.com,n/a\n")
    with pytest.raises(InputError, match="its column 'Mobile' holds no valid number"):
        read_suppressions([path], PhoneParser("GB"))


def test_numbers_are_read_with_the_campaign_rules(tmp_path: Path) -> None:
    """default_region reads national numbers; a value with two valid readings blocks both,
    and the values that are no number are counted."""
    path = write(tmp_path, "optout.csv", "phone\n0151 23456789\n38328012345\nnot a number\n")
    found = read_suppressions([path], PhoneParser("XK"))
    assert "+38328012345" in found.sources and "+38338328012345" in found.sources
    assert found.unreadable == 2  # "0151 23456789" is no Kosovo number; "not a number"
    de = read_suppressions([path], PhoneParser("DE"))
    assert de.sources["+4915123456789"] == "optout.csv"


def test_numeric_workbook_cells(tmp_path: Path) -> None:
    """Suppression workbooks with numeric cells give the right numbers, not floats."""
    book = openpyxl.Workbook()
    for row in (["Handy", "E-Mail"], [4915123456789, "a@example.com"], [None, "b@example.com"]):
        book.active.append(row)
    path = tmp_path / "optout.xlsx"
    book.save(path)
    numbers, _ = read_suppression_file(path, PhoneParser("DE"))
    assert numbers == {"+4915123456789"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("phone", True),
        ("Mobile Phone", True),
        ("mobile_number", True),
        ("MSISDN", True),
        ("Cell", True),
        ("Tel.", True),
        ("Telefonnummer", True),
        ("number", True),
        ("email", False),
        ("Account Number", False),
        ("Hotel", False),
        ("name", False),
    ],
)
def test_phone_column_names(name: str, expected: bool) -> None:
    """Header names that mean a phone column, and ones that do not."""
    assert is_phone_column(name) is expected
