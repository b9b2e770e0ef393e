"""Phone numbers as people type them (and as Excel mangles them) → E.164.

Plainly written valid numbers take the quick path of phones_quick.py (~9 µs against ~75 µs);
everything else, and every error message, comes from phonenumbers itself.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

from .errors import InputError, RowError
from .phones_quick import quick_e164

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_DIGITS = re.compile(r"\d+", re.ASCII)
_SEPARATORS = re.compile(r"[\s.\-()/]")
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
_CACHE_LIMIT = 250_000  # ~230 bytes an entry; cleared when full


class InvalidNumber(RowError):
    """A contact's phone value is not a valid number; the message is the row's ``error``."""


class PhoneParser:
    """Parses phone values to E.164 with libphonenumber, remembering every answer."""

    def __init__(self, default_region: str | None) -> None:
        region = (default_region or "").strip().upper() or None
        if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
            raise InputError(f"default_region: {_bad_region(default_region or '')}")
        self.default_region = region
        self._cache: dict[tuple[str, str | None], tuple[bool, str]] = {}

    def parse(self, raw: str, region: str | None = None) -> str:
        """The number in E.164 (``+447400123456``); raises InvalidNumber saying what is wrong."""
        key = (raw, region)
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = (True, self._parse(raw, region))
            except InvalidNumber as exc:
                hit = (False, str(exc))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = hit
        ok, text = hit
        if not ok:
            raise InvalidNumber(text)  # a fresh exception each time: no traceback build-up
        return text

    def _parse(self, raw: str, region: str | None) -> str:
        text = raw.strip()
        if not text:
            raise InvalidNumber("no phone number")
        if _SCIENTIFIC.fullmatch(text):
            raise InvalidNumber(
                f"'{text}' is in scientific notation: Excel has lost the number's digits; "
                "format the phone column as Text and re-enter the numbers"
            )
        use_region = self._region(region)
        quick = quick_e164(text, use_region)
        if quick is not None:
            return quick
        first = _attempt(text, None if text.startswith("+") else use_region)
        if isinstance(first, PhoneNumber) and phonenumbers.is_valid_number(first):
            return _e164(first)
        others = [_attempt(alternative, None) for alternative in _alternatives(text)]
        for number in others:
            if isinstance(number, PhoneNumber) and phonenumbers.is_valid_number(number):
                return _e164(number)
        if use_region is None and others and _SEPARATORS.sub("", text).startswith("00"):
            first = others[0]  # "00 44 …" with no region: explain it as "+44 …"
        raise InvalidNumber(_why(text, use_region, first))

    def _region(self, region: str | None) -> str | None:
        value = (region or "").strip()
        if not value:
            return self.default_region
        code = value.upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidNumber(_bad_region(value))
        return code


def _attempt(text: str, region: str | None) -> PhoneNumber | NumberParseException:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return exc


def _alternatives(text: str) -> list[str]:
    """Readings of a value whose ``+`` was lost: ``0044…`` and Excel's digits-only ``44…``."""
    compact = _SEPARATORS.sub("", text)
    found = []
    if compact.startswith("00") and _DIGITS.fullmatch(compact[2:]):
        found.append("+" + compact[2:])
    if _DIGITS.fullmatch(text):
        found.append("+" + text)
    return found


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
