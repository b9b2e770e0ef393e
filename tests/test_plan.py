"""The plan: every row of a messy sheet gets its number, text and status, in input order."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import yaml

from wooxy_bulk.campaign import load_campaign
from wooxy_bulk.errors import InputError
from wooxy_bulk.plan.rows import Plan, Status, prepare

CSV = """\ufeffphone ; First Name ;country
07911 123456;Olivia;GB
+44 7911 123457;;GB
447911123456;Olivia again;GB
12345;Oscar;GB
;Nobody;GB
07911 123458;Grace;GB

(415) 555-2671;Liam;US
14155552672;Noah;
0044 7911 123459;Zoë 🌸;GB
"""


def campaign_file(tmp_path: Path, contacts: str = "contacts.csv", **changes: object) -> Path:
    data: dict[str, object] = {
        "name": "t",
        "contacts": contacts,
        "country_column": "country",
        "default_region": "GB",
        "message": {"text": 'Hi {{ first_name | default("there") }}!'},
        "domain": "shop.example.com",
        "suppress": ["optout.csv"],
    }
    data.update(changes)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "optout.csv").write_text("Phone\n+447911123458\n", encoding="utf-8")
    return tmp_path


def by_row(plan: Plan) -> dict[int, tuple[Status, str, str, str]]:
    return {r.row: (r.status, r.phone, r.text, r.error) for r in plan.rows}


def test_each_row_gets_its_status(messy: Path) -> None:
    """A messy CSV (BOM, ';', spaced headers, blank row) yields every status the plan decides."""
    plan = prepare(load_campaign(campaign_file(messy)))
    rows = by_row(plan)
    assert list(rows) == [
        2,
        3,
        4,
        5,
        6,
        7,
        9,
        10,
        11,
    ]  # the blank line 8 is skipped, not renumbered
    assert rows[2] == (Status.READY, "+447911123456", "Hi Olivia!", "")
    assert rows[3] == (Status.READY, "+447911123457", "Hi there!", "")
    assert rows[4][0] is Status.DUPLICATE and rows[4][3] == "same number as row 2"
    assert rows[5][0] is Status.INVALID and "'12345'" in rows[5][3]
    assert rows[6][0] is Status.INVALID and rows[6][3] == "no phone number"
    assert rows[7][0] is Status.SUPPRESSED and "optout.csv" in rows[7][3]
    assert rows[9][:2] == (Status.READY, "+14155552671")
    assert rows[10][:2] == (Status.READY, "+14155552672")  # the + Excel dropped, in a GB sheet
    assert rows[11][:2] == (Status.READY, "+447911123459")


def test_segments_and_encoding_are_counted(messy: Path) -> None:
    """Each ready row carries its segment count and whether it needs UCS-2."""
    plan = prepare(load_campaign(campaign_file(messy)))
    zoe = next(r for r in plan.rows if r.row == 11)
    olivia = next(r for r in plan.rows if r.row == 2)
    assert (zoe.segments, zoe.ucs2) == (1, True)
    assert (olivia.segments, olivia.ucs2) == (1, False)


def test_bare_variable_on_an_empty_cell_makes_the_row_invalid(messy: Path) -> None:
    """`{{ first_name }}` on an empty cell: that row is invalid and the column is named."""
    path = campaign_file(messy, message={"text": "Hi {{ first_name }}"})
    rows = by_row(prepare(load_campaign(path)))
    assert rows[3][0] is Status.INVALID
    assert "First Name" in rows[3][3]
    assert rows[2][0] is Status.READY


def test_max_segments_makes_long_texts_invalid(messy: Path) -> None:
    """A text needing more parts than max_segments is invalid, with the count in the error."""
    path = campaign_file(messy, message={"text": "x" * 161}, max_segments=1)
    plan = prepare(load_campaign(path))
    row = next(r for r in plan.rows if r.row == 2)
    assert row.status is Status.INVALID
    assert row.error == "the text needs 2 SMS segments; max_segments is 1"


def test_an_invalid_row_does_not_shadow_a_later_duplicate(tmp_path: Path) -> None:
    """The first row that can be sent wins: an earlier invalid row of the same number does not."""
    (tmp_path / "contacts.csv").write_text(
        "phone,name\n07911123456,\n07911123456,Ann\n07911123456,Bob\n", encoding="utf-8"
    )
    path = campaign_file(
        tmp_path, message={"text": "Hi {{ name }}"}, suppress=[], country_column=None
    )
    rows = by_row(prepare(load_campaign(path)))
    assert [rows[n][0] for n in (2, 3, 4)] == [Status.INVALID, Status.READY, Status.DUPLICATE]
    assert rows[4][3] == "same number as row 3"


def test_excel_damaged_numbers_in_a_real_xlsx(tmp_path: Path) -> None:
    """Numeric XLSX cells (+ and leading 0 lost, 4.47911E+11 float) become the right numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["phone", "name"])
    sheet.append([447911123456, "int cell, + lost"])
    sheet.append([4.47911123457e11, "float cell in scientific display"])
    sheet.append([7911123458, "leading zero lost"])
    sheet.append(["4.47911E+11", "text in scientific notation: digits lost"])
    book.save(tmp_path / "c.xlsx")
    path = campaign_file(
        tmp_path, "c.xlsx", country_column=None, suppress=[], message={"text": "Hi {{ name }}"}
    )
    rows = by_row(prepare(load_campaign(path)))
    assert rows[2][:2] == (Status.READY, "+447911123456")
    assert rows[3][:2] == (Status.READY, "+447911123457")
    assert rows[4][:2] == (Status.READY, "+447911123458")
    assert rows[5][0] is Status.INVALID and "4.47911E+11" in rows[5][3]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"phone_column": "mobile"}, "no column 'mobile' (the campaign's phone_column)"),
        ({"country_column": "land"}, "no column 'land' (the campaign's country_column)"),
        ({"message": {"template": "nope.j2"}}, "key 'message.template': no such file"),
        ({"message": {"text": "Hi {{ frist_name }}"}}, "did you mean first_name?"),
        ({"message": {"text": "Hi {{ first_name }"}}, "message.text: line 1:"),
        ({"contacts": "missing.csv"}, "missing.csv"),
    ],
)
def test_campaign_file_problems_stop_before_any_row(
    messy: Path, changes: dict, expected: str
) -> None:
    """Mistakes in the campaign's files raise InputError naming the file or key."""
    with pytest.raises(InputError) as caught:
        prepare(load_campaign(campaign_file(messy, **changes)))
    assert expected in str(caught.value)


def test_phone_column_error_lists_the_columns_found(messy: Path) -> None:
    """A missing phone column lists the columns the file does have."""
    with pytest.raises(InputError) as caught:
        prepare(load_campaign(campaign_file(messy, phone_column="mobile")))
    assert "the columns are: phone, First Name, country" in str(caught.value)


def test_notes_and_number_types_reach_the_plan(tmp_path: Path) -> None:
    """Each row gets the notes of every step (a pandas float, a landline) and the type rules:
    premium-rate invalid, landline noted, a mobile without a note."""
    (tmp_path / "contacts.csv").write_text(
        "phone,first_name\n447911123456.0,Ann\n02079460000.0,Office\n09012345678,Tips\n",
        encoding="utf-8",
    )
    path = campaign_file(tmp_path, suppress=[], country_column=None)
    rows = {r.row: r for r in prepare(load_campaign(path)).rows}
    assert (rows[2].status, rows[2].phone) == (Status.READY, "+447911123456")
    assert rows[2].note == "read 447911123456.0 as 447911123456 (a number saved as a decimal)"
    assert rows[3].status is Status.READY
    assert rows[3].note == (
        "read 02079460000.0 as 02079460000 (a number saved as a decimal);"
        " fixed-line number: it may not receive SMS"
    )
    assert rows[4].status is Status.INVALID
    assert rows[4].error == "'09012345678' is a premium-rate number, which cannot receive SMS"


def test_mobile_only_from_the_campaign(tmp_path: Path) -> None:
    """mobile_only: true in the campaign makes a landline invalid."""
    (tmp_path / "contacts.csv").write_text("phone,first_name\n020 7946 0000,\n", encoding="utf-8")
    path = campaign_file(tmp_path, suppress=[], country_column=None, mobile_only=True)
    (row,) = prepare(load_campaign(path)).rows
    assert row.status is Status.INVALID and "mobile_only: true" in row.error


def test_a_suppression_file_without_numbers_stops_the_plan(messy: Path) -> None:
    """A suppress file that yields no number is an InputError, before any row is decided."""
    (messy / "optout.csv").write_text("email\nann@example.com\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"optout\.csv: yields no phone numbers to suppress"):
        prepare(load_campaign(campaign_file(messy)))
