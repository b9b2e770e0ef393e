"""Which encoding a contacts text file is in: a BOM, UTF-8, or a code page spreadsheets write.

The whole file is read (in chunks): UTF-8 is taken when all of it decodes, else every word with a
non-ASCII byte is decoded in each code page that Excel, Calc and Numbers write, and each reading
is judged by how plausible it looks as names and offers: a letter where a letter belongs ("Łódź",
not "£ódŸ"), a currency sign by digits ("€20", not "Ç20"), the letters of one language rather than
of several, no box-drawing or control characters. The clear winner is taken; a tie between
readings that differ is refused, naming them, so that nothing is read with the wrong code page in
silence. charset-normalizer names a file that fits no code page (Shift_JIS, GB18030…).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from ..errors import located

_BOMS = (  # UTF-32 first: its little-endian BOM starts like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The code pages spreadsheet programs write, in the order preferred when readings are the same.
CODE_PAGES = ("cp1252", "cp1250", "cp1254", "cp1251", "cp1257", "cp1253", "mac_roman", "cp850")
LABELS = {
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
    "cp1250": "Windows-1250",
    "cp1254": "Windows-1254",
    "cp1251": "Windows-1251",
    "cp1257": "Windows-1257",
    "cp1253": "Windows-1253",
    "mac_roman": "Mac Roman",
    "cp850": "DOS 850",
}
SAVE_AS = "save it from Excel as 'CSV UTF-8 (Comma delimited)'"
_CHUNK = 1 << 20
_WORD = re.compile(rb"[^\s,;\"]*[\x80-\xff][^\s,;\"]*")
_MAX_WORDS = 5000  # distinct non-ASCII words judged; more says nothing new
# The letters each language writes beyond ASCII; a reading that needs fewer languages to explain
# its letters is the likelier one (Turkish "ş ğ ı" rather than Icelandic "þ ð ý" plus "ç ü").
_LANGUAGES = (
    "àâæçéèêëîïôœùûüÿ",  # French
    "äöüß",  # German
    "áéíñóúü",  # Spanish
    "áâãàçéêíóôõú",  # Portuguese
    "àèéìíîòóùú",  # Italian
    "éëïóöüáè",  # Dutch
    "åäöæøé",  # Danish, Norwegian, Swedish
    "áðéíóúýþæö",  # Icelandic
    "äöåšžõü",  # Finnish, Estonian
    "ąćęłńóśźż",  # Polish
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "áéíóöőúüű",  # Hungarian
    "ăâîșțşţ",  # Romanian
    "čćđšž",  # Croatian, Slovenian, Serbian, Bosnian
    "çğıöşüâîû",  # Turkish
    "ąčęėįšųūž",  # Lithuanian
    "āčēģīķļņšūž",  # Latvian
    "çëáéíóú",  # Albanian, Irish, Catalan
)
_RARE = frozenset("ðþ")  # Icelandic's own letters: what Windows-1252 makes of Turkish "ğ ş"
_APOSTROPHES = frozenset("’‘ʼ´`·")
_EDGE_MARKS = frozenset("“”„«»‹›…™®©°º\"'")


@dataclass(frozen=True)
class Encoding:
    """The codec to read with, and how to name it to a person."""

    codec: str
    label: str


def encoding_of(codec: str) -> Encoding:
    """An Encoding for a codec name (the campaign's contacts_encoding, or a detected one)."""
    name = codecs.lookup(codec).name
    known = {codecs.lookup(key).name: key for key in LABELS} | {"utf-8": "utf-8-sig"}
    codec = known.get(name, name)
    return Encoding(codec, LABELS.get(codec, codec))


def detect(path: Path) -> Encoding:
    """The encoding of a text file; InputError when it is binary or cannot be told for sure."""
    with path.open("rb") as f:
        head = f.read(_CHUNK)
        for bom, codec in _BOMS:
            if head.startswith(bom):
                return encoding_of(codec)
        if b"\x00" in head:
            return _with_nulls(path, head)
        f.seek(0)
        words, bad_utf8, good_utf8 = _scan(f)
    if not bad_utf8:
        return encoding_of("utf-8")
    if good_utf8 > bad_utf8:
        return encoding_of("utf-8")  # UTF-8 with a stray byte: the reader names its row
    return _judge(path, words, mac_lines=b"\r" in head and b"\n" not in head)


def _with_nulls(path: Path, head: bytes) -> Encoding:
    """UTF-16 without a BOM (every other byte zero in ASCII text), else binary data."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > 0.3 * len(head) / 2 and even == 0:
        return encoding_of("utf-16-le")
    if even > 0.3 * len(head) / 2 and odd == 0:
        return encoding_of("utf-16-be")
    raise located(path, f"contains binary data, not text; {SAVE_AS}")


def _scan(f: object) -> tuple[Counter[bytes], int, int]:
    """The non-ASCII words of the whole file, and counts of bad and good UTF-8 sequences."""
    words: Counter[bytes] = Counter()
    bad = good = 0
    tail = b""
    while chunk := f.read(_CHUNK):  # type: ignore[attr-defined]
        data = tail + chunk
        cut = data.rfind(b"\n") + 1 or len(data)
        data, tail = data[:cut], data[cut:]
        words, bad, good = _take(data, words, bad, good)
    return _take(tail, words, bad, good) if tail else (words, bad, good)


def _take(
    data: bytes, words: Counter[bytes], bad: int, good: int
) -> tuple[Counter[bytes], int, int]:
    """Count a whole-line chunk's bad and good UTF-8; keep its words if it is not UTF-8."""
    if data.isascii():
        return words, bad, good
    text = data.decode("utf-8", "replace")
    replaced = text.count("\ufffd")
    if replaced and len(words) < _MAX_WORDS:
        words.update(_WORD.findall(data))
    wide = len(text) - len(text.encode("ascii", "ignore"))  # non-ASCII characters, at C speed
    return words, bad + replaced, good + wide - replaced


def _judge(path: Path, words: Counter[bytes], mac_lines: bool) -> Encoding:
    """The one code page whose reading of the words is plainly the most plausible; lines ended
    by CR alone ("CSV (Macintosh)") tip a tie towards Mac Roman, other line ends away from it."""
    sample = [word for word, _ in words.most_common(_MAX_WORDS)]
    readings: dict[tuple[str, ...], list[str]] = {}
    for codec in CODE_PAGES:
        try:
            reading = tuple(word.decode(codec) for word in sample)
        except UnicodeDecodeError:
            continue  # a byte this code page does not define
        readings.setdefault(reading, []).append(codec)
    scored = sorted(
        (_implausibility(reading) + (("mac_roman" in group) != mac_lines), group)
        for reading, group in readings.items()
    )
    odd_limit = 10 * (len(sample) // 20 + 1)  # more odd words than 1 in 20: no reading fits
    if not scored or scored[0][0] >= odd_limit:
        raise located(path, _unknown(words))
    best = scored[0][0]
    tied = sorted((g for score, g in scored if score == best), key=lambda g: CODE_PAGES.index(g[0]))
    if len(tied) > 1:
        raise located(path, _ambiguous(sample, tied))
    return encoding_of(tied[0][0])


def _implausibility(reading: tuple[str, ...]) -> int:
    """10 for each word with an odd character, plus the languages needed for its letters."""
    odd = sum(10 for word in reading if _odd(word))
    letters = {ch.lower()[0] for word in reading for ch in word if ch > "\x7f" and ch.isalpha()}
    letters = {ch for ch in letters if not ch.isascii()}  # "İ" is a Turkish "i"
    return odd + _languages_needed(letters) + bool(letters & _RARE)


def _odd(word: str) -> bool:
    """A character no spreadsheet of names and offers holds where it stands in this word."""
    all_upper = word.isupper()
    for i, ch in enumerate(word):
        if ch <= "\x7f":
            continue
        before = word[i - 1] if i else ""
        after = word[i + 1] if i + 1 < len(word) else ""
        category = unicodedata.category(ch)
        if category[0] == "C" or "\u2500" <= ch <= "\u25ff":
            return True  # control, unassigned, private use, box drawing
        if category[0] == "L":
            if unicodedata.name(ch, "").split()[0] not in ("LATIN", "CYRILLIC", "GREEK"):
                return True
            if ch.isupper() and before.isalpha() and not all_upper:
                return True  # "MŸller", "£ódŸ"
            if after.isupper() and ch.islower() and after.isascii():
                return True  # "OíBrien"
            if _script(ch) != "LATIN" and any(
                _script(c) != _script(ch) for c in word if c.isalpha()
            ):
                return True  # a Greek or Cyrillic letter among Latin ones
            if ch == "ς" and after.isalpha():
                return True  # a Greek final sigma inside a word: Cyrillic read as Greek
            if (before.isdigit() or after.isdigit()) and not (before.isalpha() or after.isalpha()):
                return ch not in "ºª"  # "20Ç", "Ä20"
        elif ch in _APOSTROPHES:
            continue
        elif before.isalpha() and after.isalpha():
            return True  # a sign inside a word
        elif (before.isalpha() or after.isalpha()) and ch not in _EDGE_MARKS:
            return True  # "£ukasz", "Jos‚", "€a"
        elif category == "Sm" and ch not in "±×÷¬":
            return True  # "≈", "√", "∞": what Mac Roman makes of Windows letters
    return False


def _script(ch: str) -> str:
    return unicodedata.name(ch, "LATIN").split()[0] if not ch.isascii() else "LATIN"


def _languages_needed(letters: set[str]) -> int:
    """How many languages (greedily) it takes to write these letters; a letter of none costs 1."""
    rest, needed = set(letters), 0
    scripts = {_script(ch) for ch in rest} - {"LATIN"}
    rest = {ch for ch in rest if _script(ch) == "LATIN"}
    while rest:
        best = max(_LANGUAGES, key=lambda alphabet: len(rest & set(alphabet)))
        covered = rest & set(best)
        if not covered:
            return needed + len(scripts) + len(rest)
        rest -= covered
        needed += 1
    return needed + len(scripts)


def _ambiguous(sample: list[bytes], groups: list[list[str]]) -> str:
    """Name each possible reading with how a word reads in it."""
    word = next(w for w in sample if len({w.decode(group[0]) for group in groups}) > 1)
    options = " or ".join(
        f'{LABELS[group[0]]} ("{word.decode(group[0], "replace")}")' for group in groups
    )
    return (
        f"cannot tell its encoding for sure: it could be {options}; set contacts_encoding in the"
        f" campaign (e.g. contacts_encoding: {groups[0][0]}), or {SAVE_AS}"
    )


def _unknown(words: Counter[bytes]) -> str:
    """No code page fits: name what charset-normalizer makes of it, if anything."""
    probe = b"\n".join(word for word, _ in words.most_common(2000))
    guess = charset_normalizer.from_bytes(probe).best()
    hint = ""
    if guess is not None and guess.encoding not in CODE_PAGES:
        hint = f" (it may be {guess.encoding}: set contacts_encoding: {guess.encoding})"
    return f"is not UTF-8 text and its encoding cannot be told{hint}; {SAVE_AS}"
