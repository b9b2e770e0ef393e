"""Send windows: each recipient's zones, the country rules, holidays and the 15-minute margin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wooxy_bulk.errors import RowError
from wooxy_bulk.plan.phones import PhoneParser
from wooxy_bulk.plan.windows import Where, Windows, WindowSpec, parse_hours

NEW_YORK = "+12125551234"
LOS_ANGELES = "+14155552671"
MIAMI = "+13055551234"
OKLAHOMA_CITY = "+14055551234"
DALLAS = "+12145551234"
BALTIMORE = "+14105551234"
PARIS = "+33612345678"
LONDON = "+447400100000"
TOKYO = "+81312345678"
SYDNEY = "+61293744000"  # a Sydney landline: Australia/Sydney alone
AUSTRALIAN_MOBILE = "+61412345678"  # every Australian zone, Perth to Lord Howe
SAO_PAULO = "+5511912345678"
MUMBAI = "+919812345678"
US_TOLL_FREE = "+18005551234"
GUERNSEY_MOBILE = "+447781123456"  # +44 77…, as UK mobiles
UK_MOBILE = "+447712345678"
PHONES = PhoneParser(None)

WEEKDAYS_9_TO_8 = WindowSpec(hours="09:00-20:00", days=["mon", "tue", "wed", "thu", "fri"])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def locate(windows: Windows, number: str, zone: str = "") -> Where | None:
    """The number located with its region as the plan reads it."""
    return windows.locate(number, PHONES.read(number).region, zone)


def hold(windows: Windows, number: str, now: datetime, zone: str = "") -> str | None:
    return windows.hold(locate(windows, number, zone), now)


WEDNESDAY_13_UTC = utc("2026-03-11T13:00")  # New York 09:00, Paris 14:00, Tokyo 22:00


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (NEW_YORK, None),
        (LOS_ANGELES, "outside its send window: opens Wed 08:00 America/Los_Angeles"),
        (MIAMI, None),
        (PARIS, None),
        (LONDON, None),
        (TOKYO, None),
        (SYDNEY, None),
        (SAO_PAULO, None),
        (MUMBAI, None),
    ],
)
def test_country_rules_alone(number: str, expected: str | None) -> None:
    """Without a send_window the country rules still hold (US 08:00–21:00 local)."""
    assert hold(Windows(None), number, WEDNESDAY_13_UTC) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (NEW_YORK, None),
        (LOS_ANGELES, "outside its send window: opens Wed 09:00 America/Los_Angeles"),
        (MIAMI, None),
        (PARIS, None),
        (LONDON, None),
        (TOKYO, "outside its send window: opens Thu 09:00 Asia/Tokyo"),
        (SYDNEY, "outside its send window: opens Thu 09:00 Australia/Sydney"),
        (SAO_PAULO, None),
        (MUMBAI, None),
    ],
)
def test_send_window_around_the_world(number: str, expected: str | None) -> None:
    """A 09:00–20:00 weekday window is read in each recipient's own zone."""
    assert hold(Windows(WEEKDAYS_9_TO_8), number, WEDNESDAY_13_UTC) == expected


@pytest.mark.parametrize(
    ("number", "now", "expected"),
    [
        (PARIS, "2026-03-15T12:00", "outside its send window: opens Mon 08:00 Europe/Paris"),
        (PARIS, "2026-07-14T10:00", "outside its send window: opens Wed 08:00 Europe/Paris"),
        (PARIS, "2026-07-15T05:59", "outside its send window: opens Wed 08:00 Europe/Paris"),
        (PARIS, "2026-07-15T06:00", None),
        (PARIS, "2026-07-15T17:44", None),
        (PARIS, "2026-07-15T17:45", "outside its send window: opens Thu 08:00 Europe/Paris"),
        (
            SAO_PAULO,
            "2026-03-15T15:00",
            "outside its send window: opens Mon 09:00 America/Sao_Paulo",
        ),
        (SAO_PAULO, "2026-03-14T00:44", None),  # Friday 21:44: 22:00 closes
        (MUMBAI, "2026-03-15T04:00", "outside its send window: opens Sun 10:00 Asia/Calcutta"),
        (MUMBAI, "2026-03-15T04:30", None),  # Sunday 10:00: every day in India
        (
            OKLAHOMA_CITY,
            "2026-03-12T01:30",
            "outside its send window: opens Thu 08:00 America/Chicago",
        ),
        (DALLAS, "2026-03-12T01:30", None),  # Texas: the federal 21:00
        (
            BALTIMORE,
            "2026-03-12T00:00",
            "outside its send window: opens Thu 08:00 America/New_York",
        ),
        (MIAMI, "2026-03-11T23:44", None),
        (MIAMI, "2026-03-11T23:45", "outside its send window: opens Thu 08:00 America/New_York"),
        (NEW_YORK, "2026-03-12T00:44", None),
    ],
)
def test_country_rules(number: str, now: str, expected: str | None) -> None:
    """France: no Sundays or public holidays (14 July); Brazil Mon–Sat; India every day; FL, OK
    and MD area codes stop at 20:00; every rule keeps 15 minutes before its closing."""
    assert hold(Windows(None), number, utc(now)) == expected


def test_country_rules_off() -> None:
    """country_rules: false lifts them: a French Sunday night is open without a window."""
    windows = Windows(None, country_rules=False)
    assert locate(windows, PARIS) is None
    assert windows.hold(locate(windows, PARIS), utc("2026-03-15T23:00")) is None


def test_the_window_narrows_the_rules_and_the_rules_narrow_the_window() -> None:
    """An 07:00–23:00 window still waits for the US 08:00; a window of 10:00 starts at 10:00."""
    wide = Windows(WindowSpec(hours="07:00-23:00"))
    assert hold(wide, NEW_YORK, utc("2026-03-11T11:30")) == (
        "outside its send window: opens Wed 08:00 America/New_York"
    )
    narrow = Windows(WindowSpec(hours="10:00-12:00"))
    assert hold(narrow, NEW_YORK, utc("2026-03-11T13:30")) == (
        "outside its send window: opens Wed 10:00 America/New_York"
    )


def test_a_number_in_several_zones_waits_for_all_of_them() -> None:
    """An Australian mobile may be in Perth or on the Cocos Islands: Sydney's 10:00 is too early."""
    windows = Windows(WindowSpec(hours="09:00-20:00"))
    mobile = locate(windows, AUSTRALIAN_MOBILE)
    assert mobile is not None and {"Australia/Perth", "Australia/Sydney"} <= set(mobile.zones)
    thursday_10_in_sydney = utc("2026-03-11T23:00")
    assert hold(windows, SYDNEY, thursday_10_in_sydney) is None
    assert windows.hold(mobile, thursday_10_in_sydney) == (
        "outside its send window: opens Thu 09:00 Indian/Cocos"
    )
    assert windows.hold(mobile, utc("2026-03-12T02:30")) is None


def test_a_toll_free_number_is_in_every_zone_of_its_plan() -> None:
    """A US toll-free number has no place: the window must be open from Guam to Newfoundland."""
    rules_only = Windows(None)
    assert hold(rules_only, US_TOLL_FREE, utc("2026-03-11T16:00")) == (
        "outside its send window: opens Thu 08:00 Pacific/Guam"
    )
    assert hold(rules_only, US_TOLL_FREE, utc("2026-03-11T22:00")) is None
    windowed = Windows(WindowSpec(hours="09:00-20:00"))
    assert hold(windowed, US_TOLL_FREE, utc("2026-03-11T22:00")) == (
        "outside its send window: it does not open in the next 15 days in all of its time zones"
        " at once (America/Adak, America/Anchorage, America/Anguilla and 39 more)"
    )


def test_public_holidays_of_the_recipients_country() -> None:
    """public_holidays: skip waits out Christmas and Boxing Day in the UK (and the Monday that
    stands in for Boxing Day, a Saturday in 2026); send does not."""
    christmas = utc("2026-12-25T12:00")
    skip = Windows(WindowSpec(hours="09:00-20:00"))
    assert hold(skip, LONDON, christmas) == "outside its send window: opens Sun 09:00 Europe/London"
    weekdays = Windows(WEEKDAYS_9_TO_8)
    assert hold(weekdays, LONDON, christmas) == (
        "outside its send window: opens Tue 09:00 Europe/London"
    )
    send = Windows(WindowSpec(hours="09:00-20:00", public_holidays="send"))
    assert hold(send, LONDON, christmas) is None
    assert hold(send, PARIS, utc("2026-07-14T10:00")) is not None  # France's rule still holds


def test_numbers_sharing_a_prefix_keep_their_own_country() -> None:
    """A Guernsey and a UK mobile share libphonenumber's time-zone prefix (+44 77): each keeps
    its own country's public holidays (Guernsey's Liberation Day, 9 May), whichever comes first."""
    windows = Windows(WindowSpec(hours="09:00-20:00"))
    liberation_day = utc("2026-05-09T12:00")
    guernsey = locate(windows, GUERNSEY_MOBILE)
    assert guernsey is not None and guernsey.region == "GG"
    assert windows.hold(guernsey, liberation_day) is not None
    assert hold(windows, UK_MOBILE, liberation_day) is None
    assert hold(windows, GUERNSEY_MOBILE, utc("2026-05-10T12:00")) is None


def test_days_of_the_week() -> None:
    """A Mon–Fri window waits over the weekend in the recipient's zone."""
    windows = Windows(WEEKDAYS_9_TO_8, country_rules=False)
    saturday = utc("2026-03-14T12:00")
    assert (
        hold(windows, LONDON, saturday) == "outside its send window: opens Mon 09:00 Europe/London"
    )
    friday_evening_in_la = utc("2026-03-14T02:00")  # Friday 19:00 in LA, Saturday in London
    assert hold(windows, LOS_ANGELES, friday_evening_in_la) is None


def test_timezone_column_wins_over_the_number() -> None:
    """A zone in the timezone column replaces the number's; a wrong one is the row's error."""
    windows = Windows(WindowSpec(hours="09:00-20:00", timezone_column="tz"))
    assert hold(windows, LONDON, WEDNESDAY_13_UTC, "Asia/Tokyo") == (
        "outside its send window: opens Thu 09:00 Asia/Tokyo"
    )
    assert hold(windows, LONDON, WEDNESDAY_13_UTC, "") is None
    with pytest.raises(RowError) as caught:
        locate(windows, LONDON, "Europe/Londn")
    assert str(caught.value) == (
        "'Europe/Londn' in the timezone column is not an IANA time zone such as Europe/Paris"
    )


def test_the_margin_and_a_cached_opening() -> None:
    """The same Windows asked minute by minute: open until 15 minutes before 20:00, then shut."""
    windows = Windows(WindowSpec(hours="09:00-20:00"), country_rules=False)
    where = locate(windows, NEW_YORK)
    evening = utc("2026-03-11T23:40")  # 19:40 in New York
    answers = [windows.hold(where, evening + timedelta(minutes=m)) for m in range(7)]
    assert answers[:5] == [None] * 5
    assert answers[5:] == ["outside its send window: opens Thu 09:00 America/New_York"] * 2
    assert windows.hold(where, utc("2026-03-12T13:00")) is None


def test_zones_are_looked_up_once_per_prefix() -> None:
    """A thousand numbers of one prefix cost one libphonenumber look-up and share one Where."""
    windows = Windows(WEEKDAYS_9_TO_8)
    wheres = {id(locate(windows, f"+1212555{i:04d}")) for i in range(1000)}
    assert len(wheres) == 1
    assert len(windows._by_prefix) == 1


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("9-17", "'9-17': write them as HH:MM-HH:MM, e.g. '09:00-20:00'"),
        ("09:00-25:00", "'09:00-25:00' is not a time of day"),
        ("20:00-09:00", "'20:00-09:00' must start before it ends, within one day"),
    ],
)
def test_bad_hours(hours: str, expected: str) -> None:
    """Hours that are not HH:MM-HH:MM within one day are refused, saying how to write them."""
    with pytest.raises(ValueError) as caught:
        parse_hours(hours)
    assert str(caught.value).startswith(expected)


def test_whole_day_hours() -> None:
    """00:00-24:00 is the whole day."""
    assert parse_hours("00:00-24:00") == (0, 1440)
