"""Send windows: when each row may be sent, in its recipient's local time.

A row's zones come from the campaign's `timezone_column`, else from libphonenumber's time zones
for its number (all of them must be open), else from its country's zones in the tz database. The
campaign's `send_window` and the legal sending hours by country (`country_rules`) both narrow the
hours a row may go. Zones are looked up once per distinct number prefix, never per row: a
row costs a few dictionary lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from phonenumbers import geocoder, timezone
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX
from pydantic import BaseModel, ConfigDict, StrictStr, field_validator

from ..errors import RowError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MARGIN = timedelta(minutes=15)  # no send starts this close to its window's closing
HORIZON_DAYS = 15  # how far ahead an opening is looked for
_HOURS = re.compile(r"(\d\d?):(\d\d)-(\d\d?):(\d\d)")
_HEAD = 5  # a number's first digits, enough to find its time-zone prefix for most numbers
_LONG_HEADS = frozenset(p[:_HEAD] for p in TIMEZONE_DATA if len(p) > _HEAD)
_MISSING = object()
_NON_GEOGRAPHIC = "001"  # libphonenumber's region of +800, +882… numbers
_EVERY_DAY = frozenset(range(7))
_MON_SAT = frozenset(range(6))


class WindowSpec(BaseModel):
    """The campaign's `send_window:` section."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    hours: StrictStr = "00:00-24:00"
    days: list[StrictStr] = list(DAYS)
    public_holidays: Literal["skip", "send"] = "skip"
    timezone_column: StrictStr | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.lower()[:3] if d.lower() in _DAY_NAMES else d.lower() for d in value]
        for given, day in zip(value, days, strict=True):
            if day not in DAYS:
                raise ValueError(f"{given!r} is not a day; use {', '.join(DAYS)}")
        if not days:
            raise ValueError(f"give at least one day of {', '.join(DAYS)}")
        return days

    @property
    def minutes(self) -> tuple[int, int]:
        return parse_hours(self.hours)

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(d) for d in self.days)


_DAY_NAMES = {
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
}


def parse_hours(value: str) -> tuple[int, int]:
    """'09:00-20:00' as minutes since midnight (540, 1200); a ValueError says what to write."""
    match = _HOURS.fullmatch(value.replace(" ", ""))
    example = "write them as HH:MM-HH:MM, e.g. '09:00-20:00'"
    if not match:
        raise ValueError(f"{value!r}: {example}")
    h1, m1, h2, m2 = map(int, match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start >= 24 * 60 or end > 24 * 60:
        raise ValueError(f"{value!r} is not a time of day; {example}")
    if start >= end:
        raise ValueError(
            f"{value!r} must start before it ends, within one day (a window cannot span midnight)"
        )
    return start, end


@dataclass(frozen=True, slots=True)
class Rule:
    """Hours (minutes since local midnight) and days on which messages may go out."""

    start: int
    end: int
    days: frozenset[int] = _EVERY_DAY
    skip_holidays: bool = False


# The legal or carrier sending hours by country (SPEC "Send windows"; sources in the README).
COUNTRY_RULES: dict[str, Rule] = {
    "US": Rule(8 * 60, 21 * 60),  # 47 CFR 64.1200(c)(1)
    "FR": Rule(8 * 60, 20 * 60, _MON_SAT, skip_holidays=True),  # carriers' and AF2M practice
    "BR": Rule(9 * 60, 22 * 60, _MON_SAT),  # carrier guidelines
    "IN": Rule(10 * 60, 21 * 60),  # TRAI promotional window
}
# Fla. Stat. 501.616; 15 Okl. St. 775C.4; Maryland Stop the Spam Calls Act 2023.
STATE_RULES: dict[str, Rule] = {
    state: Rule(8 * 60, 20 * 60) for state in ("Florida", "Oklahoma", "Maryland")
}
_STATE_CODES = {"FL": "Florida", "OK": "Oklahoma", "MD": "Maryland"}


@dataclass(frozen=True, slots=True)
class Where:
    """A recipient's time zones, country and (US) state: all a window depends on."""

    zones: tuple[str, ...]
    region: str | None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Opening:
    """A row's window at one instant: open until `closes` (the last start is MARGIN before), or
    closed until `opens` (None: not within HORIZON_DAYS), shown in `zone`."""

    is_open: bool
    at: datetime | None  # closes (open) or opens (closed), UTC
    zone: str
    since: datetime  # the instant it was computed for; it holds until valid_until
    valid_until: datetime

    def local(self) -> str:
        """'Mon 09:00 America/New_York': when it opens (or closes), in the recipient's zone."""
        if self.at is None:
            return f"not in the next {HORIZON_DAYS} days ({self.zone})"
        return f"{day_time(self.at, ZoneInfo(self.zone))} {self.zone}"

    def reason(self) -> str:
        """The row's `error` while it is held."""
        if self.at is None:
            return (
                f"outside its send window: it does not open in the next {HORIZON_DAYS} days"
                f" in all of its time zones at once ({self.zone})"
            )
        return f"outside its send window: opens {self.local()}"


def day_time(instant: datetime, zone: ZoneInfo | None = None) -> str:
    """'Mon 09:00' in `zone` (UTC by default), with English day names whatever the locale."""
    local = instant.astimezone(zone or UTC)
    return f"{DAYS[local.weekday()].capitalize()} {local:%H:%M}"


def utc_and_local(opening: Opening) -> str:
    """'Mon 09:00 America/New_York = 14:00 UTC' (the UTC day too when it differs)."""
    assert opening.at is not None
    local, utc = day_time(opening.at, ZoneInfo(opening.zone)), day_time(opening.at)
    same_day = local.split()[0] == utc.split()[0]
    return f"{local} {opening.zone} = {utc.split()[1] if same_day else utc} UTC"


class Windows:
    """The send windows of one campaign: locates recipients and says whether they may be sent."""

    def __init__(self, spec: WindowSpec | None, country_rules: bool = True) -> None:
        self.spec, self.country_rules = spec, country_rules
        self._by_prefix: dict[tuple[str, str | None], tuple[tuple[str, ...], str | None]] = {}
        self._heads: dict[str, str] = {}
        self._where: dict[tuple[str, str, str], Where | None] = {}
        self._zones: dict[str, str | None] = {}
        self._openings: dict[Where, Opening] = {}

    @property
    def active(self) -> bool:
        return self.spec is not None or self.country_rules

    def locate(
        self, e164: str, region: str, zone_cell: str = "", country: str | None = None
    ) -> Where | None:
        """Where a number's recipient is; None when no window or rule applies to it. `region` is
        the number's, as the plan read it (PlanRow.region); `country` (the row's country cell or
        the default region) stands in for a number of no region (+800, +882…). Raises RowError
        for a timezone cell that names no IANA zone."""
        home = region if region and region != _NON_GEOGRAPHIC else (country or "").upper()
        prefix = self._heads.get(e164[1 : 1 + _HEAD]) or self._prefix(e164)
        key = (prefix, home, zone_cell)
        found = self._where.get(key, _MISSING)
        if found is _MISSING:
            found = self._where[key] = self._locate(e164, prefix, home or None, zone_cell)
        return found  # type: ignore[return-value]

    def _prefix(self, e164: str) -> str:
        """The longest prefix of the number in libphonenumber's time-zone data; remembered for
        the number's first digits when no longer prefix starts with them."""
        prefix = e164[1 : 1 + TIMEZONE_LONGEST_PREFIX]
        while prefix and prefix not in TIMEZONE_DATA:
            prefix = prefix[:-1]
        head = e164[1 : 1 + _HEAD]
        if len(head) == _HEAD and head not in _LONG_HEADS:
            self._heads[head] = prefix
        return prefix

    def _locate(self, e164: str, prefix: str, region: str | None, zone_cell: str) -> Where | None:
        if self.spec is None and (not self.country_rules or region not in COUNTRY_RULES):
            return None
        zones, state = self._number(e164, prefix, region)
        if zone_cell:
            zones = (self._zone(zone_cell),)
        elif not zones and region:
            zones = country_zones(region)
        if not zones:
            raise RowError(
                f"no time zone is known for {e164}: give one in a timezone column"
                " (send_window.timezone_column)"
            )
        return Where(zones, region, state)

    def _number(
        self, e164: str, prefix: str, region: str | None
    ) -> tuple[tuple[str, ...], str | None]:
        """libphonenumber's zones and (US) state for the first number with `prefix` in `region`."""
        hit = self._by_prefix.get((prefix, region))
        if hit is None:
            hit = self._by_prefix[prefix, region] = number_facts(e164, region)
        return hit

    def _zone(self, cell: str) -> str:
        if cell not in self._zones:
            self._zones[cell] = zone_name(cell)
        name = self._zones[cell]
        if name is None:
            raise RowError(
                f"{cell!r} in the timezone column is not an IANA time zone such as Europe/Paris"
            )
        return name

    def rules(self, where: Where) -> list[Rule]:
        """The campaign's window and the country's (and state's) rules for `where`."""
        found: list[Rule] = []
        if self.spec is not None:
            start, end = self.spec.minutes
            skip = self.spec.public_holidays == "skip"
            found.append(Rule(start, end, self.spec.weekdays, skip))
        if self.country_rules and where.region in COUNTRY_RULES:
            found.append(COUNTRY_RULES[where.region])
            if where.region == "US" and where.state in STATE_RULES:
                found.append(STATE_RULES[where.state])
        return found

    def opening(self, where: Where, now: datetime) -> Opening:
        """The window of `where` at `now` (aware); cached until its state changes."""
        cached = self._openings.get(where)
        if cached is not None and cached.since <= now < cached.valid_until:
            return cached
        found = self._openings[where] = compute_opening(where, self.rules(where), now)
        return found

    def hold(self, where: Where | None, now: datetime) -> str | None:
        """Why a row at `where` may not start sending at `now`; None when it may."""
        if where is None:
            return None
        opening = self.opening(where, now)
        return None if opening.is_open else opening.reason()


def number_facts(e164: str, region: str | None) -> tuple[tuple[str, ...], str | None]:
    """libphonenumber's time zones of a number (none when unknown), and its state when its
    region is US."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (), None
    zones = tuple(z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    state = None
    if region == "US":
        place = geocoder.description_for_number(number, "en")
        code = place.rsplit(", ", 1)[-1] if ", " in place else ""
        state = _STATE_CODES.get(code, place if place in STATE_RULES else None)
    return tuple(z for z in zones if zone_name(z)), state


@cache
def zone_name(name: str) -> str | None:
    """The IANA zone `name` as written, if zoneinfo (with tzdata) knows it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


@cache
def country_zones(region: str) -> tuple[str, ...]:
    """A country's zones from the tz database's zone.tab (shipped in tzdata)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    found = []
    for line in table.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] == region and zone_name(parts[2]):
            found.append(parts[2])
    return tuple(found)


@cache
def public_holidays(region: str | None) -> holidays.HolidayBase | None:
    """The country's public holidays (the holidays package), or None if it has no calendar."""
    if not region:
        return None
    try:
        return holidays.country_holidays(region)
    except NotImplementedError:
        return None


def compute_opening(where: Where, rules: Iterable[Rule], now: datetime) -> Opening:
    """Intersect the allowed intervals of every zone and find the one around or after `now`."""
    rules = list(rules)
    spans: list[tuple[datetime, datetime, str]] | None = None
    home = country_zones(where.region) if where.region else ()
    for zone in sorted(where.zones, key=lambda z: z not in home):  # ties name a home zone
        mine = [(s, e, zone) for s, e in zone_intervals(zone, where.region, rules, now)]
        spans = mine if spans is None else intersect(spans, mine)
    for start, end, zone in spans or []:
        if end - MARGIN <= now or end - start <= MARGIN:
            continue
        if start <= now:
            return Opening(True, end, zone, now, end - MARGIN)
        return Opening(False, start, zone, now, start)
    zones = ", ".join(where.zones[:3])
    if len(where.zones) > 3:
        zones += f" and {len(where.zones) - 3} more"
    return Opening(False, None, zones, now, now + timedelta(hours=1))


def zone_intervals(
    zone: str, region: str | None, rules: list[Rule], now: datetime
) -> list[tuple[datetime, datetime]]:
    """The UTC intervals in which every rule allows sending, local days from yesterday on."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    found: list[tuple[datetime, datetime]] = []
    for offset in range(-1, HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        span = _day_span(day, region, rules)
        if span is None:
            continue
        start, end = (_at(day, minute, tz) for minute in span)
        if found and found[-1][1] >= start:
            found[-1] = (found[-1][0], end)  # one window across midnight
        else:
            found.append((start, end))
    return found


def _day_span(day: date, region: str | None, rules: list[Rule]) -> tuple[int, int] | None:
    start, end = 0, 24 * 60
    for rule in rules:
        if day.weekday() not in rule.days:
            return None
        if rule.skip_holidays and _is_holiday(day, region):
            return None
        start, end = max(start, rule.start), min(end, rule.end)
    return (start, end) if start < end else None


def _is_holiday(day: date, region: str | None) -> bool:
    calendar = public_holidays(region)
    return calendar is not None and day in calendar


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time()) + timedelta(minutes=minute)
    return local.replace(tzinfo=tz).astimezone(UTC)


def intersect(
    a: list[tuple[datetime, datetime, str]], b: list[tuple[datetime, datetime, str]]
) -> list[tuple[datetime, datetime, str]]:
    """Two sorted interval lists' intersection; each keeps the zone whose opening is the later."""
    found, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            found.append((start, end, a[i][2] if a[i][0] >= b[j][0] else b[j][2]))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return found
