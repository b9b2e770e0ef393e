"""A quick path to E.164, number type and region for plainly written numbers, on libphonenumber's
metadata.

Plainly written numbers (digits, spaces, ``. - ( ) /``, an optional leading ``+``) go through
libphonenumber's parse, validation, typing and region steps for that shape, on its metadata
compiled once, at a fraction of the cost of ``phonenumbers.parse`` + ``is_valid_number`` +
``number_type`` + ``region_code_for_number`` (figures in benchmarks/RESULTS.md). It answers only
when the number is valid, with exactly what phonenumbers gives (tests/test_phones.py checks that
for every region's example numbers of every type, written many ways); for anything else it
answers None and phonenumbers decides. It reads one value one way: the choice between readings
is phones.py's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberType

_PLAIN = re.compile(r"\+?\d(?:[\d .()/-]*\d)?", re.ASCII)
_NOT_DIGITS = b"+ .()/-"
_MAX_NSN = 17  # libphonenumber's _MAX_LENGTH_FOR_NSN
_SPECIAL = (  # the types phonenumbers tries before fixed-line and mobile, in its order
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


Desc = tuple[frozenset[int], Callable[[str], object]] | None


@dataclass(frozen=True, slots=True)
class _Rules:
    """What parsing and validation consult in one region's metadata, compiled once."""

    country_code: int
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    transforms: bool
    general_pattern: Callable[[str], object]
    lengths: tuple[int, ...]
    local_lengths: tuple[int, ...]
    leading_digits: re.Pattern[str] | None
    general: Desc
    types: tuple[tuple[int, frozenset[int], str], ...]  # in the order phonenumbers tries them
    same_mobile_and_fixed: bool
    typers: dict[int, Callable[[str], int]] = field(default_factory=dict)  # by NSN length

    def kind(self, nsn: str) -> int:
        """libphonenumber's number type (what phonenumbers' _number_type_helper answers)."""
        typer = self.typers.get(len(nsn))
        if typer is None:
            typer = self.typers[len(nsn)] = self._typer(len(nsn))
        return typer(nsn)

    def _typer(self, size: int) -> Callable[[str], int]:
        """The type of a number of this length, in one regex: the descriptions that allow the
        length, as alternatives in phonenumbers' order (the first that matches wins)."""
        if self.general is None or (self.general[0] and size not in self.general[0]):
            return lambda nsn: PhoneNumberType.UNKNOWN
        general = self.general[1]
        kinds = [(k, p) for k, lengths, p in self.types if not lengths or size in lengths]
        if not kinds:
            return lambda nsn: PhoneNumberType.UNKNOWN
        either = "|".join(f"(?P<k{i}>{pattern})" for i, (_, pattern) in enumerate(kinds))
        match = re.compile(either).fullmatch
        names = {f"k{i}": kind for i, (kind, _) in enumerate(kinds)}
        mobile = [pattern for kind, pattern in kinds if kind == PhoneNumberType.MOBILE]
        is_mobile = re.compile(mobile[0]).fullmatch if mobile else (lambda nsn: None)
        same = self.same_mobile_and_fixed

        def typer(nsn: str) -> int:
            found = match(nsn) if general(nsn) else None
            if found is None:
                return PhoneNumberType.UNKNOWN
            kind = names[found.lastgroup or ""]
            if kind == PhoneNumberType.FIXED_LINE and (same or is_mobile(nsn)):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return kind

        return typer


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> Desc:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length), re.compile(desc.national_number_pattern).fullmatch


def _types(md: PhoneMetadata) -> tuple[tuple[int, frozenset[int], str], ...]:
    """(type, lengths, pattern) of each number type, in phonenumbers' order; a description
    without its own lengths takes the general ones (as _is_number_matching_desc does)."""
    general = frozenset(md.general_desc.possible_length)
    found = []
    named = [*_SPECIAL, ("fixed_line", PhoneNumberType.FIXED_LINE)]
    if not md.same_mobile_and_fixed_line_pattern:
        named.append(("mobile", PhoneNumberType.MOBILE))
    for name, kind in named:
        desc = getattr(md, name)
        if desc is not None and desc.national_number_pattern:
            lengths = frozenset(desc.possible_length) or general
            found.append((kind, lengths, desc.national_number_pattern))
    return tuple(found)


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


@cache
def _rules(country_code: int, region: str) -> _Rules | None:
    md = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if md is None:
        return None
    general = _desc(md.general_desc)
    return _Rules(
        country_code=md.country_code,
        idd=_compiled(md.international_prefix),
        national_prefix=_compiled(md.national_prefix_for_parsing),
        transforms=bool(md.national_prefix_transform_rule),
        general_pattern=general[1] if general else (lambda nsn: False),
        lengths=tuple(md.general_desc.possible_length),
        local_lengths=tuple(md.general_desc.possible_length_local_only),
        leading_digits=_compiled(md.leading_digits),
        general=general,
        types=_types(md),
        same_mobile_and_fixed=bool(md.same_mobile_and_fixed_line_pattern),
    )


@cache
def _main_rules(country_code: int) -> _Rules | None:
    return _rules(country_code, phonenumbers.region_code_for_country_code(country_code))


@cache
def _region_rules(region: str) -> _Rules | None:
    return _rules(phonenumbers.country_code_for_region(region), region)


def quick_reading(text: str, region: str | None) -> tuple[str, int, str] | None:
    """`text` (stripped) as (E.164, PhoneNumberType, region) if it is plainly written and valid,
    else None (not an error: the full parse decides). Mirrors phonenumbers.parse(text, region),
    is_valid_number, number_type and region_code_for_number for this shape; it makes no choice
    between readings."""
    if len(text) > 64 or not _PLAIN.fullmatch(text):
        return None
    digits = text.encode("ascii").translate(None, _NOT_DIGITS).decode("ascii")
    if text[0] == "+":
        found = _after_idd(digits)
    elif region is None:
        return None
    else:
        found = _national(digits, region)
    if found is None or len(found[1]) < 2:
        return None
    rules, nsn = found
    stripped = _strip_national_prefix(nsn, rules)
    if stripped is None:
        return None
    if _length_accepted(stripped, rules):
        nsn = stripped
    if len(nsn) > _MAX_NSN:
        return None
    found_in, kind = _region_and_kind(rules.country_code, nsn)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    return f"+{rules.country_code}{nsn}", kind, found_in


def _after_idd(digits: str) -> tuple[_Rules, str] | None:
    """The country code's rules and the rest, after a + or an international prefix."""
    if len(digits) <= 2 or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
            rules = _main_rules(int(digits[:size]))
            return None if rules is None else (rules, digits[size:])
    return None


def _national(digits: str, region: str) -> tuple[_Rules, str] | None:
    rules = _region_rules(region)
    if rules is None:
        return None
    idd = rules.idd.match(digits) if rules.idd else None
    if idd and digits[idd.end() : idd.end() + 1] != "0":
        return _after_idd(digits[idd.end() :])
    code = str(rules.country_code)
    if digits.startswith(code):  # 447400123456 in a GB sheet: the + that Excel dropped
        rest = _strip_national_prefix(digits[len(code) :], rules)
        if rest is None:
            return None
        if (not rules.general_pattern(digits) and rules.general_pattern(rest)) or (
            len(digits) not in rules.local_lengths and len(digits) > rules.lengths[-1]
        ):
            main = _main_rules(rules.country_code)
            return None if main is None else (main, rest)
    return rules, digits


def _strip_national_prefix(number: str, rules: _Rules) -> str | None:
    """The number without its national prefix, as libphonenumber strips it; None: not sure."""
    found = rules.national_prefix.match(number) if number and rules.national_prefix else None
    if not found:
        return number
    if rules.transforms:
        return None
    rest = number[found.end() :]
    if rules.general_pattern(number) and not rules.general_pattern(rest):
        return number
    return rest


def _length_accepted(nsn: str, rules: _Rules) -> bool:
    """Not TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY or INVALID_LENGTH (TOO_LONG is accepted)."""
    size, lengths = len(nsn), rules.lengths
    if size in rules.local_lengths or size < lengths[0]:
        return False
    return size == lengths[0] or size > lengths[-1] or size in lengths[1:]


def _region_and_kind(country_code: int, nsn: str) -> tuple[str, int]:
    """The region phonenumbers assigns +{country_code}{nsn} to (by leading digits, else the
    first whose type is known; +1 is US or CA, +44 GB or IM…) and its number_type there
    (UNKNOWN: not valid)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    for region in regions:
        rules = _rules(country_code, region)
        if rules is None:
            continue
        if len(regions) == 1:
            return region, rules.kind(nsn)
        if rules.leading_digits is not None:
            if rules.leading_digits.match(nsn):
                return region, rules.kind(nsn)
        elif (kind := rules.kind(nsn)) != PhoneNumberType.UNKNOWN:
            return region, kind
    return "", PhoneNumberType.UNKNOWN
