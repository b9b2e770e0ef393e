"""Tests for wooxy_bulk.contacts.codepages via open_contacts: each encoding spreadsheets write."""

from __future__ import annotations

from pathlib import Path

import pytest

from wooxy_bulk.contacts import open_contacts
from wooxy_bulk.errors import InputError, display_path

SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"


def read(path: Path, encoding: str | None = None) -> tuple[str, list[tuple[str, ...]]]:
    contacts = open_contacts(path, encoding=encoding)
    return contacts.where, [cells for _, cells in contacts.rows()]


@pytest.mark.parametrize(
    ("codec", "text", "label"),
    [
        pytest.param(
            "cp1252",
            "phone,first_name,offer\r\n+447911123456,Ann,Save €20 now\r\n"
            "+447911123457,Bob,€5 off your next order\r\n",
            "Windows-1252",
            id="cp1252-only-euro",
        ),
        pytest.param(
            "cp1252",
            "phone;name;city\r\n+33612345678;José Müller;Zürich\r\n+33612345679;Renée O’Brien;"
            "Besançon\r\n+34612345678;Peña;Málaga\r\n",
            "Windows-1252",
            id="cp1252-western-names",
        ),
        pytest.param(
            "cp1250",
            "phone,name,city\r\n+48601234567,Łukasz Wójcik,Łódź\r\n+48601234568,Zofia Żółć,"
            "Kraków\r\n+48601234569,Michał Dąbrowski,Gdańsk\r\n",
            "Windows-1250",
            id="cp1250-polish",
        ),
        pytest.param(
            "cp1250",
            "phone,name,city\r\n+420601234567,Antonín Dvořák,Plzeň\r\n+420601234568,Jiří Novák,"
            "Brno\r\n",
            "Windows-1250",
            id="cp1250-czech",
        ),
        pytest.param(
            "cp1254",
            "phone,name,city\r\n+905321234567,Ayşe Yılmaz,İstanbul\r\n+905321234568,Çağrı Öztürk,"
            "Muğla\r\n",
            "Windows-1254",
            id="cp1254-turkish",
        ),
        pytest.param(
            "cp1254",
            "phone,name,city\r\n+905321234567,Ali,İstanbul\r\n+905321234568,Mehmet,Şişli\r\n",
            "Windows-1254",
            id="cp1254-few-letters",
        ),
        pytest.param(
            "mac_roman",
            "phone,name,offer\r+33612345678,José Müller,Ça va ? €20 off\r+33612345679,Zoë,"
            "Besançon\r",
            "Mac Roman",
            id="mac-roman-csv-macintosh",
        ),
        pytest.param(
            "cp850",
            "phone,name,offer\r\n+447911123456,Müller,Ça va\r\n+447911123457,José,Zürich\r\n",
            "DOS 850",
            id="dos-850",
        ),
        pytest.param(
            "cp850", "phone,name,offer\r\n+447911123456,Ann,Ça va\r\n", "DOS 850", id="dos-850-one"
        ),
        pytest.param(
            "cp1251",
            "phone,name,city\r\n+79161234567,Иван Петров,Москва\r\n",
            "Windows-1251",
            id="cp1251-russian",
        ),
        pytest.param(
            "utf-16",
            "phone\tname\r\n+447911123456\tZoë Łódź\r\n",
            "UTF-16",
            id="excel-unicode-text",
        ),
        pytest.param("utf-8-sig", "phone,name\n+447911123456,Zoë\n", "UTF-8", id="utf-8-bom"),
        pytest.param("utf-8", "phone,name\n+447911123456,Ça va\n", "UTF-8", id="utf-8"),
    ],
)
def test_code_page_detected(tmp_path: Path, codec: str, text: str, label: str) -> None:
    """Each code page spreadsheet programs write is detected and decoded to the text written."""
    path = tmp_path / "contacts.csv"
    path.write_bytes(text.encode(codec))
    where, rows = read(path)
    expected = [
        tuple(cell.strip() for cell in line.split(sep))
        for sep in ("\t" if "\t" in text else (";" if ";" in text else ","),)
        for line in text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")[1:]
    ]
    assert (where, rows) == (f"encoding {label}", expected)


def test_first_accent_after_64_kib(tmp_path: Path) -> None:
    """The whole file is judged: a cp1252 accent far past the start is read, not refused."""
    lines = ["phone,name"] + [f"+4479111{i:05d},Name {i}" for i in range(8000)]
    lines.append("+447911199999,José")
    path = tmp_path / "late.csv"
    path.write_bytes("\n".join(lines).encode("cp1252") + b"\n")
    assert path.stat().st_size > 1 << 17
    where, rows = read(path)
    assert where == "encoding Windows-1252" and rows[-1] == ("+447911199999", "José")


def test_unsure_is_refused_naming_the_readings(tmp_path: Path) -> None:
    """Two equally plausible code pages: refused, naming both; contacts_encoding decides."""
    path = tmp_path / "peña.csv"
    path.write_bytes("phone,name\n+34612345678,Peña\n".encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value) == (
        f"{display_path(path)}: cannot tell its encoding for sure: it could be Windows-1252"
        ' ("Peña") or Windows-1250 ("Peńa"); set contacts_encoding in the campaign (e.g.'
        f" contacts_encoding: cp1252), or {SAVE_AS}"
    )
    assert read(path, "cp1252") == ("encoding Windows-1252", [("+34612345678", "Peña")])
    assert read(path, "windows-1250")[1] == [("+34612345678", "Peńa")]


def test_wrong_contacts_encoding_names_the_row(tmp_path: Path) -> None:
    """A contacts_encoding the bytes do not fit stops at the first row they break."""
    path = tmp_path / "c.csv"
    path.write_bytes("phone,name\n1,Ann\n2,Zoë\n".encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read(path, "utf-8")
    assert str(caught.value) == (
        f"{display_path(path)}: row 3: is not UTF-8 text (byte 0xEB); {SAVE_AS}"
    )
