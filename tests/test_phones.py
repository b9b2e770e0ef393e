"""Tests for wooxy_bulk.plan.phones: raw spreadsheet values → E.164, or a row error saying why."""

from __future__ import annotations

import phonenumbers
import pytest

from wooxy_bulk.errors import InputError, RowError
from wooxy_bulk.plan import phones_quick
from wooxy_bulk.plan.phones import InvalidNumber, PhoneParser, PhoneReading, sms_note

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
    real = PhoneParser._read

    def counting(self: PhoneParser, text: str, region: str | None) -> PhoneReading:
        calls.append(text)
        return real(self, text, region)

    monkeypatch.setattr(PhoneParser, "_read", counting)
    parser = PhoneParser("GB")
    assert [parser.parse("07400 123456") for _ in range(3)] == [UK] * 3
    for _ in range(3):
        with pytest.raises(InvalidNumber, match="too short"):
            parser.parse("12345")
    assert parser.parse("06 12 34 56 78", "FR") == "+33612345678"
    assert calls == ["07400 123456", "12345", "06 12 34 56 78"]


def _full_path(text: str, region: str | None) -> tuple[str, int, str] | None:
    """What phonenumbers itself makes of a value: its E.164, type and region if valid, else None."""
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.number_type(number), phonenumbers.region_code_for_number(number)


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
    """The quick path gives phonenumbers' own E.164, number type and region for example numbers of
    every region and type, however written and in whichever region read, and answers for most
    valid ones."""
    answered = valid = 0
    for number, own in _example_numbers()[::every]:
        region = own if read_in == "own" else read_in
        for text in _written_ways(number):
            quick, full = phones_quick.quick_reading(text, region), _full_path(text, region)
            assert quick is None or quick == full, (text, region)
            answered += quick is not None
            valid += full is not None
    assert answered > 0.8 * valid


@pytest.mark.parametrize("quick", [True, False], ids=["quick path", "phonenumbers"])
@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415 555 0123", None, "US"),
        ("+1 416 555 0123", None, "CA"),  # +1 41…, as San Francisco
        ("(416) 555-0123", "US", "CA"),  # a Toronto number in a US sheet
        ("+44 7400 100000", None, "GB"),
        ("07781 123456", "GB", "GG"),  # a Guernsey mobile in a UK sheet
        ("tel:+447797123456", None, "JE"),
        ("447624012345", "GB", "IM"),  # the + Excel dropped
        ("+7 912 345 6789", None, "RU"),
        ("8 701 234 5678", "RU", "KZ"),  # a Kazakh mobile in a Russian sheet
        ("+33 6 12 34 56 78", None, "FR"),
    ],
)
def test_a_reading_names_the_numbers_own_region(
    raw: str, region: str | None, expected: str, quick: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The region is the number's, not the sheet's: of the regions sharing a country code, the
    one its digits belong to, alike with and without the quick path."""
    if not quick:
        monkeypatch.setattr("wooxy_bulk.plan.phones.quick_reading", lambda text, region: None)
    assert PhoneParser(region).read(raw).region == expected


def _mobiles() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    """Every region's example mobile numbers (MOBILE, and FIXED_LINE_OR_MOBILE where it is one)."""
    mobile = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in mobile:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.number_type(number) in mobile:
                found.append((region, number))
    return found


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(("region", "number"), _mobiles(), ids=lambda v: str(v)[:20])
def test_a_mobile_that_lost_its_plus_is_never_another_number(
    region: str, number: phonenumbers.PhoneNumber
) -> None:
    """Every region's mobile, as a number cell keeps it (its E.164 digits, or its national
    digits without the leading 0) in a sheet of that region: that mobile, noted when another
    reading was valid too, or invalid naming both readings, never another number in silence."""
    mobile = _e164(number)
    for cell in (mobile[1:], phonenumbers.national_significant_number(number)):
        try:
            reading = PhoneParser(region).read(cell)
        except InvalidNumber as exc:
            assert mobile in exc.readings and len(exc.readings) == 2, cell
            assert all(found in str(exc) for found in exc.readings)
            continue
        assert reading.e164 == mobile, cell
        national = _full_path(cell, region)
        if national is not None and national[0] != mobile:  # the value as written: another number
            assert reading.note.startswith(f"read as {mobile} "), cell


@pytest.mark.parametrize(
    ("raw", "region", "outcome"),
    [
        (
            "4915123456789",
            "DE",
            "+4915123456789: read as +4915123456789 (mobile, with the + a number cell loses),"
            " not +494915123456789 (fixed-line, as written)",
        ),
        (
            "62812345678",
            "ID",
            "+62812345678: read as +62812345678 (mobile, with the + a number cell loses),"
            " not +6262812345678 (fixed-line, as written)",
        ),
        (
            "38343201234",
            "XK",
            "+38343201234: read as +38343201234 (mobile, with the + a number cell loses),"
            " not +38338343201234 (fixed-line, as written)",
        ),
        (
            "38328012345",
            "XK",
            "'38328012345' could be +38338328012345 (fixed-line, as written) or +38328012345"
            " (fixed-line, with the + a number cell loses); write it with + and its country code",
        ),
        ("015123456789", "DE", "+4915123456789: "),  # written with its 0: one reading
        ("15123456789", "DE", "+4915123456789: "),  # the 0 lost: DE's own, not +1 512…
        (
            "14155552671",
            "GB",
            "+14155552671: read as +14155552671 (fixed-line or mobile, with"
            " the + a number cell loses)",
        ),
        (
            "612345678",
            "IT",
            "+390612345678: read as +390612345678 (fixed-line, with the leading"
            " 0 a number cell loses)",
        ),
        (
            "447911123456.0",
            "GB",
            "+447911123456: read 447911123456.0 as 447911123456 (a number saved as a decimal)",
        ),
        (  # a GB mobile in a DE sheet, or a DE landline that lost its 0: cannot tell
            "447911123456.0",
            "DE",
            "'447911123456' could be +49447911123456 (fixed-line, as written) or +447911123456"
            " (mobile, with the + a number cell loses); write it with + and its country code",
        ),
        ("+44 7911 123467 (mobile)", "GB", "+447911123467: ignored the comment 'mobile'"),
        ("07911 123467 [work]", "GB", "+447911123467: ignored the comment 'work'"),
        (
            "+44 7911 123456 ext. 12",
            "GB",
            "+447911123456: ignored the extension 12: an SMS goes to the number",
        ),
        ("tel:+447911123456", "GB", "+447911123456: "),
        (
            "+44 7911 1234ab",
            "GB",
            "'+44 7911 1234ab' has letters in it; write the number in digits only (letters are"
            " not read as keypad digits)",
        ),
        (
            "1-800-FLOWERS",
            "US",
            "'1-800-FLOWERS' has letters in it; write the number in digits only (letters are"
            " not read as keypad digits)",
        ),
        ("#N/A", "GB", "'#N/A' is not a phone number"),
    ],
)
def test_readings_and_their_notes(raw: str, region: str, outcome: str) -> None:
    """Values a spreadsheet or a person damaged: the reading taken and its note, or the error."""
    try:
        reading = PhoneParser(region).read(raw)
    except InvalidNumber as exc:
        assert str(exc) == outcome
    else:
        assert f"{reading.e164}: {reading.note}" == outcome


def _every_example() -> list[tuple[str, str, phonenumbers.PhoneNumber]]:
    kinds = [k for k in vars(phonenumbers.PhoneNumberType) if k.isupper() and k != "UNKNOWN"]
    return [
        (region, kind, number)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in kinds
        if (number := phonenumbers.example_number_for_type(region, getattr(PNT, kind)))
    ]


PNT = phonenumbers.PhoneNumberType
NO_SMS = {"PREMIUM_RATE", "SHARED_COST", "TOLL_FREE", "VOICEMAIL", "UAN", "PAGER"}


def test_numbers_that_cannot_take_an_sms_in_every_region() -> None:
    """By type, for every region's example numbers: premium-rate, shared-cost, toll-free,
    voicemail, UAN and pager numbers are invalid; a fixed line is sent with a note, or invalid
    with mobile_only; a mobile (or fixed-line-or-mobile) has no note."""
    for region, kind, number in _every_example():
        e164 = _e164(number)
        reading = PhoneParser(region).read(e164)
        actual = phonenumbers.number_type(number)
        if actual in (PNT.MOBILE, PNT.FIXED_LINE_OR_MOBILE):
            assert sms_note(reading, e164, mobile_only=True) == "", (region, kind)
        elif actual in {getattr(PNT, k) for k in NO_SMS}:
            with pytest.raises(InvalidNumber, match="which cannot receive SMS"):
                sms_note(reading, e164, mobile_only=False)
        else:
            assert sms_note(reading, e164, mobile_only=False).endswith("it may not receive SMS")
            with pytest.raises(InvalidNumber, match=r"not a mobile \(mobile_only: true\)"):
                sms_note(reading, e164, mobile_only=True)


@pytest.mark.parametrize(
    ("raw", "mobile_only", "outcome"),
    [
        (
            "0901 234 5678",
            False,
            "'0901 234 5678' is a premium-rate number, which cannot receive SMS",
        ),
        ("0800 123 4567", False, "'0800 123 4567' is a toll-free number, which cannot receive SMS"),
        (
            "055 1234 5678",
            False,
            "'055 1234 5678' is a UAN (company switchboard) number, which cannot receive SMS",
        ),
        ("076 4012 3456", False, "'076 4012 3456' is a pager number, which cannot receive SMS"),
        ("0121 234 5678", False, "note: fixed-line number: it may not receive SMS"),
        (
            "0121 234 5678",
            True,
            "'0121 234 5678' is a fixed-line number, not a mobile (mobile_only: true)",
        ),
        ("056 1234 5678", False, "note: VoIP number: it may not receive SMS"),
        ("07911 123456", True, "note: "),
    ],
)
def test_sms_note_by_type(raw: str, mobile_only: bool, outcome: str) -> None:
    """GB numbers by type: the exact error or note."""
    reading = PhoneParser("GB").read(raw)
    try:
        assert f"note: {sms_note(reading, raw, mobile_only)}" == outcome
    except InvalidNumber as exc:
        assert str(exc) == outcome


def test_us_numbers_need_no_note() -> None:
    """A US number (fixed-line-or-mobile) is sent without a note, even with mobile_only."""
    reading = PhoneParser("US").read("(201) 555-0123")
    assert (reading.e164, reading.note) == ("+12015550123", "")
    assert sms_note(reading, "(201) 555-0123", mobile_only=True) == ""
