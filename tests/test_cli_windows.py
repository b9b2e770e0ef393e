"""`wooxy-bulk run` with send windows, at fixed instants: contacts around the world, who goes, who
waits and what they say; the dry run's schedule; --wait on a fake clock."""

from __future__ import annotations

import asyncio
import csv
import signal
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import cli_env, start_cli

from wooxy_bulk.cli import main

CONTACTS = {
    "New York": "+12125551234",
    "Los Angeles": "+14155552671",
    "Miami": "+13055551234",
    "Paris": "+33612345678",
    "London": "+447400100000",
    "Tokyo": "+81312345678",
    "Sydney": "+61293744000",
    "São Paulo": "+5511912345678",
    "Mumbai": "+919812345678",
}


WEDNESDAY = "2026-03-11T13:00"  # 09:00 in New York, 06:00 in Los Angeles, 22:00 in Tokyo


def opens(when: str) -> str:
    return f"outside its send window: opens {when}"


# At each instant (UTC), with a 09:00-20:00 window every day: "" = sent, else the row's error.
INSTANTS = {
    "2026-03-11T13:00": {  # a Wednesday: 09:00 in New York, 22:00 in Tokyo
        "New York": "",
        "Los Angeles": opens("Wed 09:00 America/Los_Angeles"),
        "Miami": "",
        "Paris": "",
        "London": "",
        "Tokyo": opens("Thu 09:00 Asia/Tokyo"),
        "Sydney": opens("Thu 09:00 Australia/Sydney"),
        "São Paulo": "",
        "Mumbai": "",
    },
    "2026-03-15T12:00": {  # a Sunday: France and Brazil wait for Monday, India does not
        "New York": opens("Sun 09:00 America/New_York"),
        "Los Angeles": opens("Sun 09:00 America/Los_Angeles"),
        "Miami": opens("Sun 09:00 America/New_York"),
        "Paris": opens("Mon 09:00 Europe/Paris"),
        "London": "",
        "Tokyo": opens("Mon 09:00 Asia/Tokyo"),
        "Sydney": opens("Mon 09:00 Australia/Sydney"),
        "São Paulo": opens("Mon 09:00 America/Sao_Paulo"),
        "Mumbai": "",
    },
    "2026-07-14T10:00": {  # Bastille Day: a public holiday in France
        "New York": opens("Tue 09:00 America/New_York"),
        "Los Angeles": opens("Tue 09:00 America/Los_Angeles"),
        "Miami": opens("Tue 09:00 America/New_York"),
        "Paris": opens("Wed 09:00 Europe/Paris"),
        "London": "",
        "Tokyo": "",
        "Sydney": opens("Wed 09:00 Australia/Sydney"),
        "São Paulo": opens("Tue 09:00 America/Sao_Paulo"),
        "Mumbai": "",
    },
}


def world_campaign(
    folder: Path, cities: Sequence[str] = tuple(CONTACTS), **changes: object
) -> Path:
    lines = [f"{CONTACTS[city]},{city}" for city in cities]
    (folder / "contacts.csv").write_text("phone,city\n" + "\n".join(lines) + "\n", "utf-8")
    data: dict[str, object] = {
        "name": "world",
        "contacts": "contacts.csv",
        "message": {"text": "Hello {{ city }}, spring sale!"},
        "domain": "shop.example.com",
        "results": "results.csv",
        "send_window": {"hours": "09:00-20:00"},
        "api": {"url": "http://127.0.0.1:9/v3"},
    }
    data.update(changes)
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def invoke(*args: str | Path, clock: object, sleep: object = None) -> Result:
    obj = {"clock": clock, "sleep": sleep}
    return CliRunner().invoke(main, [str(a) for a in args], obj=obj, env=cli_env(key=None))


def fixed(text: str) -> object:
    instant = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return lambda: instant


def by_city(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists() and path.stem.endswith("-sandbox"):
        path = path.with_stem(path.stem.removesuffix("-sandbox"))  # before the sandbox's own name
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {r["city"]: r for r in csv.DictReader(f)}


@pytest.mark.parametrize("instant", INSTANTS)
def test_who_goes_and_who_waits(tmp_path: Path, instant: str) -> None:
    """A sandbox run at a fixed instant sends the rows whose window is open and leaves the rest
    not_sent, each saying when its window opens; exit 0."""
    campaign = world_campaign(tmp_path)
    done = invoke("run", campaign, "--sandbox", "--quiet", clock=fixed(instant))
    assert done.exit_code == 0, done.output
    rows = by_city(tmp_path / "results-sandbox.csv")
    expected = INSTANTS[instant]
    assert {city: r["error"] for city, r in rows.items()} == expected
    assert {city: r["status"] for city, r in rows.items()} == {
        city: "not_sent" if error else "sent" for city, error in expected.items()
    }
    held = sum(bool(e) for e in expected.values())
    assert f"Held by send windows: {held} rows (not_sent); the next window opens" in done.output


def test_the_closing_summary_says_when_the_next_window_opens(tmp_path: Path) -> None:
    """The closing summary counts the held rows and names the next opening, local and UTC."""
    campaign = world_campaign(tmp_path)
    done = invoke("run", campaign, "--sandbox", "--quiet", clock=fixed("2026-03-11T13:00"))
    assert "Done: 6 sent, 3 not_sent" in done.output
    assert (
        "Held by send windows: 3 rows (not_sent); the next window opens"
        " Wed 09:00 America/Los_Angeles = 16:00 UTC: run again then, or use --wait"
    ) in done.output


def test_the_dry_run_shows_the_schedule(tmp_path: Path) -> None:
    """The dry run says how many rows can go now and when the others open, by zone."""
    campaign = world_campaign(tmp_path)
    done = invoke("run", campaign, "--dry-run", clock=fixed("2026-03-11T13:00"))
    assert done.exit_code == 0, done.output
    assert "Ready to send:   6" in done.output
    assert (
        "Send windows:    6 rows can go now; 3 wait for their window\n"
        "  1 row open Wed 09:00 America/Los_Angeles = 16:00 UTC\n"
        "  1 row open Thu 09:00 Australia/Sydney = Wed 22:00 UTC\n"
        "  1 row open Thu 09:00 Asia/Tokyo = 00:00 UTC\n"
    ) in done.output
    rows = by_city(tmp_path / "results.csv")
    assert rows["Tokyo"]["status"] == "not_sent" and rows["London"]["status"] == "ready"


def test_country_rules_apply_without_a_window_and_can_be_turned_off(tmp_path: Path) -> None:
    """With no send_window the country rules still hold Paris on a Sunday; country_rules: false
    sends it."""
    sunday = fixed("2026-03-15T12:00")
    campaign = world_campaign(tmp_path, send_window=None)
    done = invoke("run", campaign, "--sandbox", "--quiet", clock=sunday)
    rows = by_city(tmp_path / "results-sandbox.csv")
    assert rows["Paris"]["error"] == opens("Mon 08:00 Europe/Paris")
    assert rows["London"]["status"] == rows["Tokyo"]["status"] == "sent"
    assert "Done: 6 sent, 3 not_sent" in done.output  # Paris, São Paulo, Los Angeles (05:00)
    campaign = world_campaign(
        tmp_path, send_window=None, country_rules=False, name="off", results="off.csv"
    )
    done = invoke("run", campaign, "--sandbox", "--quiet", clock=sunday)
    assert "Done: 9 sent" in done.output


def test_a_bad_timezone_cell_is_an_invalid_row_and_a_missing_column_exit_2(tmp_path: Path) -> None:
    """A zone the tz database does not know makes its row invalid; a timezone_column that is not
    in the contacts stops the run before anything is sent."""
    window = {"hours": "09:00-20:00", "timezone_column": "tz"}
    campaign = world_campaign(tmp_path, send_window=window)
    done = invoke("run", campaign, "--dry-run", clock=fixed("2026-03-11T13:00"))
    assert done.exit_code == 2
    assert "no column 'tz' (the campaign's send_window.timezone_column)" in done.output
    contacts = "phone,city,tz\n+447400100000,London,Asia/Tokyo\n+447400100001,Leeds,Mars/Base\n"
    (tmp_path / "contacts.csv").write_text(contacts, "utf-8")
    done = invoke("run", campaign, "--dry-run", clock=fixed("2026-03-11T13:00"))
    assert done.exit_code == 0, done.output
    rows = by_city(tmp_path / "results.csv")
    assert rows["London"]["error"] == opens("Thu 09:00 Asia/Tokyo")
    assert rows["Leeds"]["status"] == "invalid"
    assert rows["Leeds"]["error"] == (
        "'Mars/Base' in the timezone column is not an IANA time zone such as Europe/Paris"
    )


class FakeTime:
    """The run's clock and sleeper: sleeping moves the clock, not the test."""

    def __init__(self, start: str) -> None:
        self.now = datetime.fromisoformat(start).replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def test_wait_delivers_the_whole_campaign(tmp_path: Path) -> None:
    """--wait keeps the run going over a (fake) day: it says how many rows wait and until when,
    sends each as its window opens, and ends with every row sent."""
    campaign = world_campaign(tmp_path)
    fake = FakeTime("2026-03-11T13:00")
    done = invoke("run", campaign, "--sandbox", "--wait", clock=fake, sleep=fake.sleep)
    assert done.exit_code == 0, done.output
    assert "Done: 9 sent" in done.output and "Held by send windows" not in done.output
    assert (
        "waiting: 3 rows wait for their send window, until Wed 16:00 UTC"
        " (Wed 09:00 America/Los_Angeles)"
    ) in done.stderr
    assert "waiting: 1 row waits for their send window, until Thu 00:00 UTC" in done.stderr
    assert fake.now == datetime(2026, 3, 12, 0, 0, tzinfo=UTC)
    assert {r["status"] for r in by_city(tmp_path / "results-sandbox.csv").values()} == {"sent"}


def test_ctrl_c_stops_a_wait_at_once(tmp_path: Path) -> None:
    """A real process waiting hours for Tokyo's window stops at Ctrl-C at once: exit 130, the
    rows sent so far recorded."""
    campaign = world_campaign(tmp_path)
    env = cli_env(key=None, now="2026-03-11T13:00:00+00:00")
    proc = start_cli("run", campaign, "--sandbox", "--wait", env=env)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while line and not line.startswith("waiting:"):
        line = proc.stderr.readline()
    assert line.startswith("waiting: 3 rows"), line
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert time.monotonic() - started < 10
    statuses = {r["status"] for r in by_city(tmp_path / "results-sandbox.csv").values()}
    assert statuses == {"sent", "not_sent"}


def test_limit_counts_messages_sent_not_rows_held(tmp_path: Path) -> None:
    """--limit 2 sends 2 messages, to the first rows whose window is open; the rows held before
    them stay not_sent saying when they open, the rows after them are past the limit."""
    cities = ["Tokyo", "Sydney", "New York", "Los Angeles", "London", "Paris"]
    campaign = world_campaign(tmp_path, cities)
    done = invoke("run", campaign, "--sandbox", "--quiet", "--limit", "2", clock=fixed(WEDNESDAY))
    assert done.exit_code == 0, done.output
    rows = by_city(tmp_path / "results-sandbox.csv")
    assert {city: (r["status"], r["error"]) for city, r in rows.items()} == {
        "Tokyo": ("not_sent", opens("Thu 09:00 Asia/Tokyo")),
        "Sydney": ("not_sent", opens("Thu 09:00 Australia/Sydney")),
        "New York": ("sent", ""),
        "Los Angeles": ("not_sent", opens("Wed 09:00 America/Los_Angeles")),
        "London": ("sent", ""),
        "Paris": ("not_sent", "past --limit 2; a re-run sends it"),
    }
    assert "Done: 2 sent, 4 not_sent" in done.output
    assert "Held by send windows: 3 rows (not_sent)" in done.output


def test_wait_with_a_limit_stops_at_the_limit(tmp_path: Path) -> None:
    """--wait --limit 3: the two rows open now go, then the run waits for Los Angeles, sends it
    as the third message and ends there, without waiting for Tokyo."""
    campaign = world_campaign(tmp_path, ["Tokyo", "New York", "Los Angeles", "London"])
    fake = FakeTime(WEDNESDAY)
    done = invoke(
        "run", campaign, "--sandbox", "--wait", "--limit", "3", clock=fake, sleep=fake.sleep
    )
    assert done.exit_code == 0, done.output
    rows = by_city(tmp_path / "results-sandbox.csv")
    assert {city: r["status"] for city, r in rows.items()} == {
        "Tokyo": "not_sent",
        "New York": "sent",
        "Los Angeles": "sent",
        "London": "sent",
    }
    assert rows["Tokyo"]["error"] == opens("Thu 09:00 Asia/Tokyo")
    assert fake.now == datetime(2026, 3, 11, 16, 0, tzinfo=UTC)  # 09:00 in Los Angeles


def test_a_held_row_is_not_reserved_under_the_frequency_cap(tmp_path: Path) -> None:
    """With a cap of 1 message, --wait sends every row as its window opens: a row held by its
    window was never counted against the cap (no reservation of its own blocks it), and the
    ledger ends with one sent message a number and nothing pending."""
    cap = {"messages": 1, "hours": 24}
    campaign = world_campaign(tmp_path, frequency_cap=cap)
    fake = FakeTime(WEDNESDAY)
    done = invoke("run", campaign, "--sandbox", "--wait", clock=fake, sleep=fake.sleep)
    assert done.exit_code == 0, done.output
    assert "Done: 9 sent" in done.output
    with sqlite3.connect(tmp_path / ".wooxy-bulk" / "ledger.sqlite") as db:
        states = db.execute("SELECT phone, state FROM sends").fetchall()
    assert sorted(states) == sorted((phone, "sent") for phone in CONTACTS.values())
