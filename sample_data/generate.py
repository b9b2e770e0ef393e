"""Regenerate the sample contacts: `python sample_data/generate.py`.

The sheet is damaged the way real Excel exports are: phone numbers stored as numbers (the `+` and
leading zeros gone), national formats, stray spaces in headers, blank rows, duplicates in other
formats, a formula-looking name, an opted-out number, and a few numbers that cannot be sent.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent

HEADER = ["phone", " First Name ", "country", "city", "points"]
ROWS: list[list[object] | None] = [
    ["07911 123123", "Olivia", "GB", "London", 120],
    [447911123124, "Amelia", "GB", "Leeds", None],  # a number cell: Excel dropped the +
    ["+44 7911 123125", "Isla", "", "Bristol", 45],
    ["0044 7911 123126", "Ava", "GB", "", 300],
    ["(07911) 123-127", "Mia", "GB", "Manchester", None],
    [7911123128, "Ivy", "GB", "York", 15],  # a number cell: the leading 0 is gone
    ["07911.123.129", None, "GB", "Glasgow", 80],  # no first name: the template says "there"
    ["+1 (415) 555-2671", "Liam", "US", "San Francisco", 210],
    [14155552672, "Noah", "", "Oakland", None],  # US number in a GB sheet, + dropped
    ["(415) 555-2673", "Ethan", "US", "Berkeley", 60],
    ["06 12 34 56 78", "Léa", "FR", "Paris", 95],
    ["+33 6 12 34 56 79", "Chloé", "FR", "Lyon", None],
    ["0151 23456789", "Lucas", "DE", "Berlin", 33],
    None,  # a blank row in the middle of the export
    ["07911 123130", "Sophia", "GB", "Cardiff", 500],
    ["07911 123131", "Zoë 🌸", "GB", "Bath", 70],  # an emoji: this text goes out as UCS-2
    ["447911123123", "Olivia", "GB", "London", 120],  # Olivia again, Excel-damaged: a duplicate
    ["+447911123124", "Amelia", "GB", "Leeds", None],  # Amelia again
    ["07911 123132", '=HYPERLINK("http://example.com","click")', "GB", "Hull", 10],
    ["07911 123133", "Grace", "GB", "Oxford", 240],  # on the opt-out list
    ["07911 123134", "Freya", "GB", "Cambridge", None],
    ["12345", "Oscar", "GB", "Derby", 5],  # too short
    ["not known", "Harry", "GB", "Derby", 5],
    [None, "Jack", "GB", "Derby", 5],  # no phone at all
    ["4.47911E+11", "Leo", "GB", "Exeter", 5],  # scientific notation: the digits are lost
    ["07911 123135", "Charlie", "XX", "Nowhere", 5],  # not a country code
    ["07911 123136", "Arthur", "GB", "Norwich", 1000],
    ["07911 123137", "Poppy", "GB", "Brighton", 20],
    None,
    ["07911 123138", "Evie", "GB", "Plymouth", 75],
    ["07911 123139", "Alfie", "GB", "Dover", None],
    ["07911 123140", "Rosie", "GB", "Durham", 150],
    ["07911 123141", "Theo", "GB", "Chester", 90],
    ["07911 123142", "Lily", "GB", "Bangor", 40],
    ["07911 123143", "George", "GB", "Truro", 65],
    ["07911 123144", "Ella", "GB", "Ely", 55],
]
OPTOUT = "phone\n+447911123133\n07911 123199\n"


def main() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Contacts"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row or [])
    for (cell,) in sheet.iter_rows(min_col=2, max_col=2):
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"  # typed as text, as a CRM export leaves it: not a live formula
    notes = workbook.create_sheet("Notes")
    notes.append(["Exported from the CRM for the spring sale."])
    workbook.save(HERE / "contacts.xlsx")
    (HERE / "optout.csv").write_text(OPTOUT, encoding="utf-8")


if __name__ == "__main__":
    main()
