"""A workbook cell as the sheet shows it, for the number formats people use in contact lists.

calamine gives a cell's value, not how it looks: 0.2 where the sheet shows 20%, 1200 for 1,200,
45366 or a datetime for 15/03/2024. Given the cell's number format code (from the workbook's
styles), ``render`` writes the value the way Excel and Calc display it: percentages, fixed
decimals, thousands separators, currency and other literal text, scientific notation, and dates
and times in the format's own order. A format it does not know falls back to General.
No maintained library renders Excel format codes (the one port of SheetJS SSF on PyPI no longer
imports with current Babel), so the common subset is done here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

EXACT = 2.0**53
_EPOCH = datetime(1899, 12, 30)
_TOKEN = re.compile(
    r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.|yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s'
    r"|am/pm|a/p|\.0+|e[+-]0+|[0#?,.%]+|.",
    re.IGNORECASE,
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def general(value: float) -> str:
    """Excel's General: integers as digits, fractions to 15 significant digits; values past
    2**53 (not exact) in scientific notation, never with invented digits."""
    if abs(value) < EXACT:
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    text = repr(value)
    return text if "e" in text else f"{value:.15e}"


def is_scientific(code: str) -> bool:
    """True when the format shows numbers in scientific notation (0.00E+00, ##0.0E+0)."""
    return bool(re.search(r"e[+-]0", _strip_literals(code), re.IGNORECASE))


def render(value: float | datetime | date | time | timedelta, code: str) -> str | None:
    """The value as the format shows it, or None where the format is General or not known."""
    fmt = _parse(code)
    if fmt is None:
        return None
    if isinstance(value, datetime | date | time | timedelta):
        return fmt.dates(_serial(value)) if fmt.is_date else None
    if fmt.is_date:
        return fmt.dates(float(value))
    return fmt.number(float(value))


def _strip_literals(code: str) -> str:
    return re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)


def _serial(value: datetime | date | time | timedelta) -> float:
    """A date or time as Excel's day number (1900 system), fractions for the time of day."""
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, time):
        return (value.hour * 3600 + value.minute * 60 + value.second) / 86400
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return (value - _EPOCH).total_seconds() / 86400


@dataclass(frozen=True)
class _Section:
    tokens: tuple[str, ...]
    is_date: bool


@dataclass(frozen=True)
class _Format:
    sections: tuple[_Section, ...]

    @property
    def is_date(self) -> bool:
        return self.sections[0].is_date

    def _section(self, value: float) -> tuple[_Section, bool]:
        """The section for the value's sign; True when the value is shown without its sign."""
        positive, *rest = self.sections
        if value < 0 and rest:
            return rest[0], True
        if value == 0 and len(rest) > 1:
            return rest[1], True
        return positive, False

    def number(self, value: float) -> str | None:
        section, unsigned = self._section(value)
        tokens = section.tokens
        pattern = "".join(t for t in tokens if _is_digits(t))
        if not pattern:
            return _literals(tokens)
        shown = abs(value) if unsigned or value >= 0 else -value
        percent = sum(t.count("%") for t in tokens if not t.startswith('"'))
        shown *= 100**percent
        text = _digits(shown, pattern)
        if text is None:
            return None
        sign = "-" if value < 0 and not unsigned and text.strip("0.,") else ""
        out, placed = [], False
        for token in tokens:
            if _is_digits(token):
                if not placed:
                    out.append(sign + text + "%" * token.count("%"))
                    placed = True
                elif "%" in token:
                    out.append("%" * token.count("%"))
            else:
                out.append(_literal(token))
        return "".join(out)

    def dates(self, serial: float) -> str | None:
        section = self.sections[0]
        if serial < 0 or serial > 2958465:
            return None
        moment = _EPOCH + timedelta(days=serial)
        moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)
        tokens = section.tokens
        twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
        out: list[str] = []
        for i, token in enumerate(tokens):
            low = token.lower()
            if low.startswith("m") and low.strip("m") == "" and _is_minutes(tokens, i):
                out.append(f"{moment.minute:0{len(low)}d}" if len(low) <= 2 else token)
            else:
                out.append(_date_part(token, moment, twelve, serial))
        return "".join(out)


def _is_minutes(tokens: tuple[str, ...], i: int) -> bool:
    """An m or mm right after hours or right before seconds means minutes (Excel's rule)."""
    if len(tokens[i]) > 2:
        return False
    before = [t.lower() for t in tokens[:i] if t.strip() and t not in ":"]
    after = [t.lower() for t in tokens[i + 1 :] if t.strip() and t not in ":"]
    hours = bool(before) and before[-1].startswith(("h", "[h"))
    seconds = bool(after) and after[0].startswith(("s", "[s"))
    return hours or seconds


def _date_part(token: str, moment: datetime, twelve: bool, serial: float) -> str:
    low = token.lower()
    hour = moment.hour % 12 or 12 if twelve else moment.hour
    parts = {
        "yyyy": f"{moment.year:04d}",
        "yy": f"{moment.year % 100:02d}",
        "mmmmm": _MONTHS[moment.month - 1][0],
        "mmmm": _MONTHS[moment.month - 1],
        "mmm": _MONTHS[moment.month - 1][:3],
        "mm": f"{moment.month:02d}",
        "m": str(moment.month),
        "dddd": _DAYS[moment.weekday()],
        "ddd": _DAYS[moment.weekday()][:3],
        "dd": f"{moment.day:02d}",
        "d": str(moment.day),
        "hh": f"{hour:02d}",
        "h": str(hour),
        "ss": f"{moment.second:02d}",
        "s": str(moment.second),
        "am/pm": "AM" if moment.hour < 12 else "PM",
        "a/p": "A" if moment.hour < 12 else "P",
        "[h]": str(int(serial * 24)),
        "[hh]": f"{int(serial * 24):02d}",
        "[mm]": f"{int(serial * 1440):02d}",
    }
    if low in parts:
        return parts[low]
    if low.startswith(".0"):
        return f".{round(moment.microsecond / 1e6 * 10 ** (len(low) - 1)):0{len(low) - 1}d}"
    return _literal(token)


def _is_digits(token: str) -> bool:
    return (bool(token) and token[0] in "0#?,.%") or token.lower().startswith(("e+", "e-"))


def _digits(value: float, pattern: str) -> str | None:
    """The number laid out by a digit pattern such as 0, 0.00, #,##0, 00000, 0.00E+00."""
    low = pattern.lower()
    if "e" in low:
        mantissa, exponent = re.split(r"e[+-]", low, maxsplit=1)
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        text = f"{value:.{decimals}E}"
        number, power = text.split("E")
        return f"{number}E{power[0]}{int(power[1:]):0{len(exponent)}d}"
    integer, _, fraction = low.partition(".")
    while integer.endswith(","):  # a trailing comma scales by 1,000
        integer, value = integer[:-1], value / 1000
    decimals = len(fraction.rstrip(",%"))
    if not math.isfinite(value) or value >= EXACT:
        return None
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    text = f"{exact:f}"
    whole, _, part = text.partition(".")
    minimum = integer.replace(",", "").count("0")
    whole = whole.lstrip("0").rjust(minimum, "0")
    if "," in integer:
        whole = f"{int(whole or 0):,}" if whole else ""
        whole = whole.rjust(minimum, "0") if minimum > len(whole) else whole
    optional = len(fraction) - len(fraction.rstrip("#"))
    if optional and part:
        keep = max(len(part) - optional, len(part.rstrip("0")))
        part = part[:keep]
    return whole + ("." + part if part else "")


def _literals(tokens: tuple[str, ...]) -> str:
    return "".join(_literal(t) for t in tokens)


def _literal(token: str) -> str:
    """What a non-digit token shows: quoted text, an escaped character, a currency symbol."""
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1:]
    if token.startswith("[$"):
        return token[2:-1].split("-")[0]  # [$€-407] shows €
    if token.startswith("["):
        return ""  # a colour or a condition
    if token.startswith("_"):
        return " "  # a space the width of the next character
    if token.startswith("*"):
        return ""  # fill to the column width
    return token


@lru_cache(maxsize=256)
def _parse(code: str) -> _Format | None:
    """The format's sections (positive;negative;zero;text), or None for General and text."""
    if not code or code.lower() in ("general", "@"):
        return None
    sections = []
    for part in _split_sections(code)[:3]:
        tokens = tuple(_TOKEN.findall(part))
        bare = "".join(t for t in tokens if not t.startswith(('"', "\\", "[", "_", "*")))
        is_date = bool(re.search(r"[ymdhs]", bare, re.IGNORECASE)) or any(
            t.lower() in ("[h]", "[hh]", "[mm]", "[ss]") for t in tokens
        )
        if "@" in bare and not is_date and not re.search(r"[0#?]", bare):
            return None
        if "general" in part.lower():
            return None
        sections.append(_Section(tokens, is_date))
    return _Format(tuple(sections)) if sections else None


def _split_sections(code: str) -> list[str]:
    """Split on ; outside quotes and brackets."""
    parts, current, quoted, bracket = [], [], False, False
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == "\\" and i + 1 < len(code):
            current.append(code[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "[" and not quoted:
            bracket = True
        elif ch == "]" and not quoted:
            bracket = False
        if ch == ";" and not quoted and not bracket:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts
