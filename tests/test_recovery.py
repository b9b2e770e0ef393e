"""The results sheet read back for a lost journal, and the guard between real API URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from wooxy_bulk.errors import InputError
from wooxy_bulk.plan.rows import Plan, PlanRow, Status
from wooxy_bulk.results import write_results
from wooxy_bulk.send.journal import Entry, JState
from wooxy_bulk.send.recovery import SentRow, check_api_url, sent_rows, unjournaled

SENT = "5d91513fd132d5f462796870"


def plan() -> Plan:
    rows = [
        PlanRow(2, ("+447400100000", "=1+1"), Status.SENT, "+447400100000", "=1+1", 1, sms_id=SENT),
        PlanRow(3, ("+447400100001", "Ann"), Status.NOT_SENT, "+447400100001", "Hi Ann", 1),
        PlanRow(4, ("+447400100002", "Bo"), Status.SENT, "+447400100002", "Hi Bo", 1, sms_id="b"),
        PlanRow(5, ("12", "Cy"), Status.INVALID, "", "", 0, error="not a number"),
        PlanRow(6, ("+447400100003", "Di"), Status.FAILED, "+447400100003", "Hi Di", 1),
    ]
    return Plan(("phone", "name"), rows)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_sent_rows_come_back_from_either_format(tmp_path: Path, suffix: str) -> None:
    """The sent rows of a sheet written by write_results, with row, sms_id and text as sent."""
    path = tmp_path / f"results{suffix}"
    write_results(path, plan())
    assert sent_rows(path) == [
        SentRow("+447400100000", 2, SENT, "=1+1"),
        SentRow("+447400100002", 4, "b", "Hi Bo"),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_sheet_without_sends_or_no_sheet_gives_none(tmp_path: Path, suffix: str) -> None:
    """A dry run's sheet (nothing sent) and a missing file give no rows."""
    ready = Plan(("phone",), [PlanRow(2, ("+447400100000",), Status.READY, "+447400100000")])
    write_results(tmp_path / f"r{suffix}", ready)
    assert sent_rows(tmp_path / f"r{suffix}") == []
    assert sent_rows(tmp_path / f"missing{suffix}") == []


def test_unjournaled_are_the_sent_rows_the_journal_lacks_as_sent() -> None:
    """A row is missing unless the journal has its number as sent."""
    rows = [SentRow(f"+44740010000{i}", i + 2, f"id{i}", "Hi") for i in range(3)]
    entries = {
        "+447400100000": Entry("+447400100000", 2, JState.SENT, "id0", "", "Hi", 1, "t"),
        "+447400100001": Entry("+447400100001", 3, JState.IN_FLIGHT, "", "", "Hi", 1, "t"),
    }
    assert unjournaled(rows, entries) == rows[1:]


@pytest.mark.parametrize(
    ("elsewhere", "scope", "message"),
    [
        ({}, "https://api.wooxy.com:443/v3", None),
        ({"sandbox": 9, "http://localhost:8025/v3": 4}, "https://api.wooxy.com:443/v3", None),
        ({"https://api.wooxy.com:443/v3": 3}, "http://localhost:8025/v3", None),
        (
            {"https://api.wooxy.com:443/v3": 3, "https://old.example.com:443/v3": 12},
            "https://api.example.com:443/v3",
            "the journal has 12 messages sent through https://old.example.com:443/v3, and this"
            " run sends through https://api.example.com:443/v3",
        ),
    ],
)
def test_check_api_url(elsewhere: dict[str, int], scope: str, message: str | None) -> None:
    """Only sends through another real URL stop a real run; rehearsals never do."""
    if message is None:
        check_api_url(elsewhere, scope)
        return
    with pytest.raises(InputError, match="add --new-api-url") as raised:
        check_api_url(elsewhere, scope)
    assert message in str(raised.value)
