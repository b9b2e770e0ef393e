"""What a contacts file really is, from its first bytes, whatever its name says.

A spreadsheet saved under the wrong name (an .ods or .xlsx called .csv, an HTML page called .xls,
a zip of exports) must be refused with advice for what it really is, not read as garbage.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import located

TEXT = (".csv", ".tsv", ".txt")
WORKBOOKS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OOXML = {  # [Content_Types].xml main part → the extension it belongs under
    "spreadsheetml.sheet.main": ".xlsx",
    "ms-excel.sheet.macroEnabled.main": ".xlsm",
    "ms-excel.sheet.binary.macroEnabled.main": ".xlsb",
    "wordprocessingml": "a Word document",
    "presentationml": "a PowerPoint presentation",
}
_NAMES = {
    ".xlsx": "an Excel workbook (.xlsx)",
    ".xlsm": "an Excel macro-enabled workbook (.xlsm)",
    ".xlsb": "an Excel binary workbook (.xlsb)",
    ".xls": "an Excel 97-2003 workbook (.xls)",
    ".ods": "an OpenDocument spreadsheet (.ods)",
}
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_PASSWORD = "is password-protected; open it and save a copy without the password"


def sniff(path: Path) -> str:
    """The file's real kind: a workbook extension from WORKBOOKS, or "text"; anything else
    (a PDF, an HTML page, a Word file, a zip of files) raises InputError with advice."""
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise located(path, f"cannot be read ({exc.strerror or exc})") from None
    if head.startswith(_ZIP):
        return _zip_kind(path)
    if head.startswith(_OLE2):
        if _ENCRYPTED in head:
            raise located(path, _PASSWORD)
        return ".xls"
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"%pdf"):
        raise located(path, "is a PDF document, not a spreadsheet; export the list from its source")
    if start.startswith((b"<!doctype html", b"<html", b"<table", b"<head", b"<meta")):
        raise located(
            path,
            "is a web page (HTML) saved under a spreadsheet name; open it in Excel or Calc and"
            " save it as .xlsx or as 'CSV UTF-8'",
        )
    if start.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise located(
            path, "is an Excel 2003 XML spreadsheet; open it in Excel and save it as .xlsx"
        )
    if start.startswith(b"<?xml") and b"opendocument" in head:
        raise located(path, "is a flat OpenDocument file (.fods); open it in Calc, save it as .ods")
    return "text"


def _zip_kind(path: Path) -> str:
    """An .xlsx/.xlsm/.xlsb or .ods by its declared content; other zips are refused."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                if mimetype == "application/vnd.oasis.opendocument.spreadsheet":
                    return ".ods"
                raise located(
                    path, f"is an OpenDocument file of type {mimetype}, not a spreadsheet"
                )
            if "[Content_Types].xml" in names:
                types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
                for marker, kind in _OOXML.items():
                    if marker in types:
                        if kind.startswith("."):
                            return kind
                        raise located(
                            path, f"is {kind}, not a spreadsheet; put the list in a sheet"
                        )
            if "Index/Document.iwa" in names or any(n.startswith("Index/") for n in names):
                raise located(path, "is an Apple Numbers file; export it as CSV or Excel")
    except zipfile.BadZipFile:
        raise located(
            path, "is a damaged or incomplete zip file; save or download the spreadsheet again"
        ) from None
    raise located(
        path, "is a zip archive, not a spreadsheet; unzip it and use the spreadsheet inside"
    )


def check_kind(path: Path, kind: str) -> None:
    """Refuse a file whose content is not what its extension says, with advice that fits."""
    suffix = path.suffix.lower()
    if kind == "text":
        if suffix in WORKBOOKS:
            raise located(
                path,
                f"is a text file, not {_NAMES[suffix]}; if it is a CSV export, rename it to .csv",
            )
        return
    if suffix in TEXT:
        raise located(
            path,
            f"is {_NAMES[kind]}, not a text (CSV) file; rename it to {kind} (and the"
            " contacts: key with it)",
        )
    if suffix != kind and {suffix, kind} != {".xlsx", ".xlsm"}:  # one reader for both
        raise located(path, f"is {_NAMES[kind]} under a {suffix} name; rename it to {kind}")
