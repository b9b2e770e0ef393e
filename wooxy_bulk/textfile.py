"""Small text files the user writes (campaign file, template): UTF-8, or UTF-16 with a BOM.

Those are the encodings editors save by default (Notepad's "Unicode" is UTF-16 with a BOM). Any
other encoding is refused with a message that says to save the file as UTF-8: a guessed code page
could change a message's text without a word, and Python's codec error helps nobody.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from .errors import located

_SAVE_AS_UTF8 = "save it as UTF-8 (in Notepad: File > Save as > Encoding: UTF-8)"


def read_text(path: Path, what: str) -> str:
    """The text of ``path``; ``what`` names the file in messages ("campaign file", "template")."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise located(path, f"no such {what}") from None
    except IsADirectoryError:
        raise located(path, f"is a folder, not a {what}") from None
    except OSError as exc:
        raise located(path, f"cannot read the {what} ({exc.strerror})") from None
    return decode(data, path, what)


def decode(data: bytes, path: Path, what: str) -> str:
    """``data`` as text: UTF-8 with or without a BOM, or UTF-16 with a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(
        codecs.BOM_UTF32_LE
    ):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise located(path, f"the {what} is not valid UTF-16; {_SAVE_AS_UTF8}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise located(
            path,
            f"line {line}: the {what} is not UTF-8 (byte 0x{data[exc.start]:02x} is not"
            f" UTF-8 text); {_SAVE_AS_UTF8}",
        ) from None
    if "\x00" in text:
        raise located(
            path, f"the {what} looks like UTF-16 without a byte-order mark; {_SAVE_AS_UTF8}"
        )
    return text
