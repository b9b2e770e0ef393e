"""Phone numbers as people type them (and as Excel mangles them) → E.164, with their type.

A value is read as written; a digits-only one also with the ``+`` that a number cell loses
(failing both, with its lost leading ``0``). Where two readings are valid, _choose decides and
the note names the other; where it cannot tell, the row is invalid naming both. This module is
the one place that chooses between readings: phones_quick.py only answers, faster, what
phonenumbers would for one reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType, ValidationResult

from ..errors import InputError, RowError
from .phones_quick import quick_reading

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_DIGITS = re.compile(r"\d+", re.ASCII)
_SEPARATORS = re.compile(r"[\s.\-()/]")
_PLAIN = re.compile(r"[+\d\s.()/-]*")  # nothing to clean
_FLOAT_TEXT = re.compile(r"\d{6,}\.0+", re.ASCII)  # 447911123456.0: pandas' float of a number
_COMMENT = re.compile(r"(.*\d.*?)\s*[(\[]([^\d()\[\]]*)[)\]]")  # "+44 7911 123467 (mobile)"
_EXTENSION = re.compile(r"\s*[,;]?\s*(?:ext(?:ension)?\.?|x|#)\s*(\d{1,7})#?$", re.IGNORECASE)
_TEL = re.compile(r"^tel:", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
_MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_NO_SMS = frozenset(
    {
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.VOICEMAIL,
        PhoneNumberType.UAN,
        PhoneNumberType.PAGER,
    }
)
_KIND_NAMES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed-line or mobile",
    PhoneNumberType.FIXED_LINE: "fixed-line",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UAN: "UAN (company switchboard)",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal (call-forwarding)",
}
_HOW = {
    "national": "as written",
    "plus": "with the + a number cell loses",
    "zero": "with the leading 0 a number cell loses",
    "idd": "with 00 as +",
}
_ALIASES = {
    "UK": "GB",
    "EL": "GR",
    "USA": "US",
    "UAE": "AE",
    "GBR": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "GREAT BRITAIN": "GB",
}
_REASONS = {
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
}
_CACHE_LIMIT = 250_000  # cleared when full

Reading = tuple[str, int, str]  # (E.164, phonenumbers.PhoneNumberType, region) of a valid number


class InvalidNumber(RowError):
    """A contact's phone value is not a valid number; the message is the row's ``error``.

    ``readings`` holds the numbers an ambiguous value could be (a suppression file blocks both).
    """

    def __init__(self, message: str, readings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.readings = readings


@dataclass(frozen=True, slots=True)
class PhoneReading:
    """A valid number: its E.164, its libphonenumber type and region, and what was noticed
    reading it."""

    e164: str
    kind: int  # a phonenumbers.PhoneNumberType
    region: str  # ISO 3166 alpha-2, as phonenumbers.region_code_for_number: +1 416… is CA
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Candidate:
    e164: str
    kind: int
    region: str
    how: str  # one of _HOW's keys

    def named(self) -> str:
        return f"{self.e164} ({_KIND_NAMES.get(self.kind, 'other')}, {_HOW[self.how]})"


class PhoneParser:
    """Parses phone values to E.164 with libphonenumber, remembering every answer."""

    def __init__(self, default_region: str | None) -> None:
        region = (default_region or "").strip().upper() or None
        if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
            raise InputError(f"default_region: {_bad_region(default_region or '')}")
        self.default_region = region
        self._cache: dict[tuple[str, str | None], PhoneReading | InvalidNumber] = {}

    def parse(self, raw: str, region: str | None = None) -> str:
        """The number in E.164 (``+447400123456``); raises InvalidNumber saying what is wrong."""
        return self.read(raw, region).e164

    def read(self, raw: str, region: str | None = None) -> PhoneReading:
        """The number with its type and note; raises InvalidNumber saying what is wrong."""
        key = (raw, region)
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = self._read(raw, region)
            except InvalidNumber as exc:
                hit = exc
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = hit
        if isinstance(hit, InvalidNumber):  # a fresh exception each time: no traceback build-up
            raise InvalidNumber(str(hit), hit.readings)
        return hit

    def _read(self, raw: str, region: str | None) -> PhoneReading:
        text = raw.strip()
        if not text:
            raise InvalidNumber("no phone number")
        if ("e" in text or "E" in text) and _SCIENTIFIC.fullmatch(text):
            raise InvalidNumber(
                f"'{text}' is in scientific notation: Excel has lost the number's digits; "
                "format the phone column as Text and re-enter the numbers"
            )
        text, notes = _cleaned(text)
        use_region = self._region(region)
        first = _reading(text, None if text[0] == "+" else use_region)
        if isinstance(first, tuple) and _settled(text, use_region, first):
            return PhoneReading(*first, "; ".join(notes))
        found, first = _candidates(text, use_region, first)
        if not found and not isinstance(first, tuple):
            raise InvalidNumber(_why(text, use_region, first))
        chosen, set_aside = _choose(text, use_region, found)
        if chosen.how != "national" or set_aside:
            notes.append(
                f"read as {chosen.named()}" + "".join(f", not {c.named()}" for c in set_aside)
            )
        return PhoneReading(chosen.e164, chosen.kind, chosen.region, "; ".join(notes))

    def _region(self, region: str | None) -> str | None:
        value = (region or "").strip()
        if not value:
            return self.default_region
        code = value.upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidNumber(_bad_region(value))
        return code


def sms_note(reading: PhoneReading, raw: str, mobile_only: bool) -> str:
    """What to note about a number's type for an SMS ("" for a mobile); raises InvalidNumber for
    a type that cannot receive SMS, and for any number not known to be mobile with mobile_only."""
    if reading.kind in _MOBILE:
        return ""
    name = _KIND_NAMES.get(reading.kind, "non-mobile")
    if reading.kind in _NO_SMS:
        raise InvalidNumber(f"'{raw.strip()}' is a {name} number, which cannot receive SMS")
    if mobile_only:
        raise InvalidNumber(f"'{raw.strip()}' is a {name} number, not a mobile (mobile_only: true)")
    return f"{name} number: it may not receive SMS"


def _cleaned(text: str) -> tuple[str, list[str]]:
    """The value without what a program or a person added around the number, with notes: the
    ``.0`` of a pandas float, a bracketed comment such as ``(mobile)``, an extension. Any other
    letter is refused: libphonenumber reads letters as keypad digits (1-800-FLOWERS)."""
    notes: list[str] = []
    if _PLAIN.fullmatch(text):
        if "." in text and _FLOAT_TEXT.fullmatch(text):
            digits = text.split(".", 1)[0]
            notes.append(f"read {text} as {digits} (a number saved as a decimal)")
            text = digits
        return text, notes
    comment = _COMMENT.fullmatch(text)
    if comment and comment.group(2).strip():
        text = comment.group(1)
        notes.append(f"ignored the comment '{comment.group(2).strip()}'")
    extension = _EXTENSION.search(text)
    if extension and extension.start():
        text = text[: extension.start()].rstrip()
        notes.append(f"ignored the extension {extension.group(1)}: an SMS goes to the number")
    if _LETTER.search(_TEL.sub("", text)):
        if not _DIGITS.search(text):
            raise InvalidNumber(f"'{text}' is not a phone number")
        raise InvalidNumber(
            f"'{text}' has letters in it; write the number in digits only"
            " (letters are not read as keypad digits)"
        )
    return text, notes


def _candidates(
    text: str, region: str | None, first: Reading | PhoneNumber | NumberParseException
) -> tuple[list[_Candidate], Reading | PhoneNumber | NumberParseException]:
    """The distinct valid readings of a value, and its reading as written (`first`, which
    explains the error when no reading is valid).

    As written; a digits-only value also with the ``+`` a number cell loses; when nothing is
    valid yet, with the leading ``0`` a number cell loses, or its ``00`` read as ``+``.
    """
    digits = text[0] != "0" and _DIGITS.fullmatch(text) is not None
    if isinstance(first, tuple):
        found = [_Candidate(*first, "national")]
        if not digits:
            return found, first  # written with + or separators: read as written
    else:
        found = []
    others: list[tuple[str, str | None, str]] = []
    if digits:
        others.append(("+" + text, None, "plus"))
        if region is not None:
            others.append(("0" + text, region, "zero"))
    else:
        compact = _SEPARATORS.sub("", text)
        if compact.startswith("00") and _DIGITS.fullmatch(compact[2:]):
            others.append(("+" + compact[2:], None, "idd"))
    for value, read_in, how in others:
        if how != "plus" and found:
            break  # a lost 0, or 00 for +, only for a value that is not valid otherwise
        result = _reading(value, read_in)
        if isinstance(result, tuple):
            if all(c.e164 != result[0] for c in found):
                found.append(_Candidate(*result, how))
        elif how == "idd" and region is None:
            first = result  # "00 44 …" with no region: explain it as "+44 …"
    return found, first


def _reading(text: str, region: str | None) -> Reading | PhoneNumber | NumberParseException:
    """(E.164, type, region) of a valid reading, else what phonenumbers made of it (for the
    error). The quick path answers for most plainly written valid numbers, exactly as
    phonenumbers would."""
    quick = quick_reading(text, region)
    if quick is not None:
        return quick
    number = _attempt(text, region)
    if isinstance(number, PhoneNumber) and phonenumbers.is_valid_number(number):
        found_in = phonenumbers.region_code_for_number(number) or ""
        return _e164(number), phonenumbers.number_type(number), found_in
    return number


def _settled(text: str, region: str | None, first: Reading) -> bool:
    """Whether a valid reading as written is the answer whatever the other readings are (as
    _choose decides): the value is not digits only (no + was lost), or its + reading is the
    same number, or it is a mobile whose digits do not start with the sheet's country code."""
    if text[0] == "0" or not _DIGITS.fullmatch(text) or first[0][1:] == text:
        return True
    own = str(phonenumbers.country_code_for_region(region)) if region else ""
    return first[1] in _MOBILE and not (own and text.startswith(own))


def _choose(
    text: str, region: str | None, found: list[_Candidate]
) -> tuple[_Candidate, list[_Candidate]]:
    """The reading to take, and the valid one it set aside (named in the note), of: the value
    as written, and with the + a number cell loses.

    Digits that start with the sheet's own country code (4915123456789 in DE) are a number of
    the sheet's country either way: the mobile reading is taken when the other is not one (a
    lost + explains the mobile; the other is a landline whose number happens to begin with the
    country code). Other digits are a national number of the sheet's region, as
    default_region says (2015550123 in a US sheet is not +20 15550123), unless only the other
    reading is a mobile: a landline that lost its 0, or a foreign mobile that lost its +.
    Where it cannot tell, the row is invalid, naming both.
    """
    if len(found) == 1:
        return found[0], []
    mobiles = [c for c in found if c.kind in _MOBILE]
    own = str(phonenumbers.country_code_for_region(region)) if region else ""
    national, other = found
    if own and text.startswith(own):
        if len(mobiles) == 1:
            return mobiles[0], [c for c in found if c is not mobiles[0]]
    elif mobiles != [other]:
        return national, []
    named = " or ".join(c.named() for c in found)
    raise InvalidNumber(
        f"'{text}' could be {named}; write it with + and its country code",
        tuple(c.e164 for c in found),
    )


def _attempt(text: str, region: str | None) -> PhoneNumber | NumberParseException:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return exc


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _why(text: str, region: str | None, result: PhoneNumber | NumberParseException) -> str:
    """The row's error text for a value no reading made valid."""
    if isinstance(result, NumberParseException):
        kind = result.error_type
        if kind == NumberParseException.INVALID_COUNTRY_CODE:
            if region is not None or _SEPARATORS.sub("", text).startswith(("+", "00")):
                return f"'{text}' is not a valid number (invalid country code)"
            return (
                f"'{text}' has no country code and no region to read it in; "
                "set default_region in the campaign or fill the country column"
            )
        if kind == NumberParseException.NOT_A_NUMBER:
            return f"'{text}' is not a phone number"
        reason = "too long" if kind == NumberParseException.TOO_LONG else "too short"
        return f"'{text}' is not a valid number{_for(region)} ({reason})"
    reason = _reason(result)
    suffix = f" ({reason})" if reason else ""
    return f"'{text}' is not a valid number{_for(_region_of(result, region))}{suffix}"


def _for(region: str | None) -> str:
    return f" for {region}" if region else ""


def _region_of(number: PhoneNumber, region: str | None) -> str | None:
    """The region a number was read for: the sheet's when its country code matches."""
    if region and phonenumbers.country_code_for_region(region) == number.country_code:
        return region
    found = phonenumbers.region_code_for_country_code(number.country_code)
    return None if found == phonenumbers.UNKNOWN_REGION else found


def _reason(number: PhoneNumber) -> str:
    """Why a parsed number is not valid, in a few words ("" when only its digits are wrong)."""
    result = phonenumbers.is_possible_number_with_reason(number)
    if result != ValidationResult.INVALID_LENGTH:
        return _REASONS.get(result, "")
    region = phonenumbers.region_code_for_country_code(number.country_code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        number.country_code, region
    )
    lengths = meta.general_desc.possible_length if meta and meta.general_desc else ()
    size = len(phonenumbers.national_significant_number(number))
    if lengths and size < min(lengths):
        return "too short"
    if lengths and size > max(lengths):
        return "too long"
    return "wrong length"


def _bad_region(value: str) -> str:
    """What to say about a country value that is no ISO 3166 alpha-2 code."""
    key = value.strip().upper()
    code = _ALIASES.get(key) or _country_names().get(key.casefold())
    if code is None and _DIGITS.fullmatch(key.lstrip("+")):
        found = phonenumbers.region_code_for_country_code(int(key.lstrip("+")))
        code = None if found == phonenumbers.UNKNOWN_REGION else found
    if code:
        return f"'{value}' is not a country code; use {code} (ISO 3166 alpha-2)"
    return f"'{value}' is not a country code; use a two-letter ISO 3166 code such as GB, US or FR"


@cache
def _country_names() -> dict[str, str]:
    """English country names → region codes, from phonenumbers' own data (built once, on demand)."""
    from phonenumbers import geocoder

    names: dict[str, str] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        name = geocoder.country_name_for_number(example, "en") if example else ""
        if name:
            names[name.casefold()] = region
    return names
