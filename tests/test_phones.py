"""Tests for wooxy_bulk.phones: raw spreadsheet values → E.164, or a row error saying why."""

from __future__ import annotations

import phonenumbers
import pytest

from wooxy_bulk import phones_quick
from wooxy_bulk.errors import InputError, RowError
from wooxy_bulk.phones import InvalidNumber, PhoneParser

UK = "+447400123456"
SCI = (
    "'{}' is in scientific notation: Excel has lost the number's digits; "
    "format the phone column as Text and re-enter the numbers"
)
NO_REGION = (
    "'{}' has no country code and no region to read it in; "
    "set default_region in the campaign or fill the country column"
)


@pytest.mark.parametrize(
    ("raw", "region", "default", "expected"),
    [
        ("07400 123456", None, "GB", UK),  # national, spaced
        ("07400123456", "", "GB", UK),  # blank country cell falls back to default_region
        ("  07400 123456\u00a0", None, "GB", UK),  # stray spaces and NBSP
        ("+44 7400 123456", None, "GB", UK),  # international
        ("+44 (0)7400 123456", None, "GB", UK),  # the "(0)" British habit
        ("0044 7400 123456", None, "GB", UK),  # 00 prefix
        ("0044-7400-123456", None, "US", UK),  # 00 prefix where the IDD is 011
        ("0044 7400 123456", None, None, UK),  # 00 prefix with no region at all
        ("07400.123.456", None, "GB", UK),  # dots
        ("(07400) 123-456", None, "GB", UK),  # brackets and dashes
        ("+44 7400 123456", None, None, UK),  # international needs no region
        ("447400123456", None, "GB", UK),  # Excel dropped the + (same country)
        ("14155552671", None, "GB", "+14155552671"),  # Excel dropped the +: a US number
        ("14155552671", None, None, "+14155552671"),  # digits only, no region: read with +
        ("7400123456", None, "GB", UK),  # Excel dropped the leading 0
        ("06 12 34 56 78", "FR", "GB", "+33612345678"),  # country column overrides default
        ("06 12 34 56 78", " fr ", None, "+33612345678"),  # lower case, padded region
        ("+33 6 12 34 56 78", "GB", "GB", "+33612345678"),  # + wins over the row's region
    ],
)
def test_parse_valid(raw: str, region: str | None, default: str | None, expected: str) -> None:
    """Every accepted way of writing a number comes out as the same E.164 string."""
    assert PhoneParser(default).parse(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "default", "message"),
    [
        ("", None, "GB", "no phone number"),
        ("   ", None, "GB", "no phone number"),
        ("4.47911E+11", None, "GB", SCI.format("4.47911E+11")),
        ("4,47911E+11", None, "GB", SCI.format("4,47911E+11")),
        ("1.2345678901234567e+19", None, "GB", SCI.format("1.2345678901234567e+19")),
        ("12345", None, "GB", "'12345' is not a valid number for GB (too short)"),
        ("020 7946 00000", None, "GB", "'020 7946 00000' is not a valid number for GB (too long)"),
        ("+44 12", None, None, "'+44 12' is not a valid number for GB (too short)"),
        ("07700 900123", None, "GB", "'07700 900123' is not a valid number for GB"),
        ("+999 123456", None, "GB", "'+999 123456' is not a valid number (invalid country code)"),
        ("hello", None, "GB", "'hello' is not a phone number"),
        ("07400 123456", None, None, NO_REGION.format("07400 123456")),
        ("07400 123456", "UK", "GB", "'UK' is not a country code; use GB (ISO 3166 alpha-2)"),
        ("07400 123456", "44", "GB", "'44' is not a country code; use GB (ISO 3166 alpha-2)"),
        (
            "07400 123456",
            "United Kingdom",
            None,
            "'United Kingdom' is not a country code; use GB (ISO 3166 alpha-2)",
        ),
        (
            UK,
            "XX",
            "GB",
            "'XX' is not a country code; use a two-letter ISO 3166 code such as GB, US or FR",
        ),
    ],
)
def test_parse_invalid(raw: str, region: str | None, default: str | None, message: str) -> None:
    """A value no reading makes valid raises InvalidNumber with the row's error text."""
    with pytest.raises(InvalidNumber) as caught:
        PhoneParser(default).parse(raw, region)
    assert str(caught.value) == message


def test_invalid_number_is_a_row_error() -> None:
    """InvalidNumber is a RowError, so a bad number marks its row invalid instead of stopping."""
    assert issubclass(InvalidNumber, RowError)


@pytest.mark.parametrize(
    ("default", "message"),
    [
        ("UK", "default_region: 'UK' is not a country code; use GB (ISO 3166 alpha-2)"),
        (
            "ZZ",
            "default_region: 'ZZ' is not a country code; use a two-letter ISO 3166 code "
            "such as GB, US or FR",
        ),
    ],
)
def test_bad_default_region(default: str, message: str) -> None:
    """A default_region phonenumbers does not know is an InputError naming the setting."""
    with pytest.raises(InputError) as caught:
        PhoneParser(default)
    assert str(caught.value) == message


def test_each_value_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated (value, region) pairs, good or bad, reuse the first answer."""
    calls: list[str] = []
    real = PhoneParser._parse

    def counting(self: PhoneParser, text: str, region: str | None) -> str:
        calls.append(text)
        return real(self, text, region)

    monkeypatch.setattr(PhoneParser, "_parse", counting)
    parser = PhoneParser("GB")
    assert [parser.parse("07400 123456") for _ in range(3)] == [UK] * 3
    for _ in range(3):
        with pytest.raises(InvalidNumber, match="too short"):
            parser.parse("12345")
    assert parser.parse("06 12 34 56 78", "FR") == "+33612345678"
    assert calls == ["07400 123456", "12345", "06 12 34 56 78"]


def _full_path(text: str, region: str | None) -> str | None:
    """What phonenumbers itself makes of a value: its E.164 if valid, else None."""
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _written_ways(number: phonenumbers.PhoneNumber) -> list[str]:
    """A number as people and Excel write it, and a few near misses."""
    fmt = phonenumbers.PhoneNumberFormat
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    e164 = phonenumbers.format_number(number, fmt.E164)
    digits = "".join(ch for ch in national if ch.isdigit())
    return [
        *(national, phonenumbers.format_number(number, fmt.INTERNATIONAL), e164, e164[1:]),
        *(digits, "0" + digits, "00" + e164[1:], "011" + e164[1:], e164 + "1", e164[:-1]),
        *(digits[:-1], digits + "5", digits[::-1]),
    ]


def _example_numbers() -> list[tuple[phonenumbers.PhoneNumber, str]]:
    kinds = [v for k, v in vars(phonenumbers.PhoneNumberType).items() if k.isupper()]
    found = [
        (number, region)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in kinds
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        found += [(number, "GB")] if number is not None else []
    return found


@pytest.mark.parametrize(("read_in", "every"), [("own", 1), ("GB", 6), ("US", 6), ("AR", 6)])
def test_quick_path_answers_exactly_as_phonenumbers(read_in: str, every: int) -> None:
    """The quick path gives phonenumbers' own E.164 for example numbers of every region and
    type, however written and in whichever region read, and answers for most valid ones."""
    answered = valid = 0
    for number, own in _example_numbers()[::every]:
        region = own if read_in == "own" else read_in
        for text in _written_ways(number):
            quick, full = phones_quick.quick_e164(text, region), _full_path(text, region)
            assert quick is None or quick == full, (text, region)
            answered += quick is not None
            valid += full is not None
    assert answered > 0.8 * valid
