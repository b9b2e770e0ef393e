"""`wooxy-bulk status` and the account lines of `run`, as real processes against the sandbox."""

from __future__ import annotations

import csv
import shutil
import signal
import socket
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import openpyxl
import pytest
from conftest import MakeCampaign, cli_env, numbers, run_cli, start_cli

from wooxy_bulk.results import sandbox_results
from wooxy_bulk.sandbox import SandboxConfig, running_sandbox
from wooxy_bulk.send.journal import SCHEMA_VERSION

VERSION_1 = Path(__file__).parent / "data" / "journal-v1.sqlite"
SEND = ("--yes", "--quiet", "--no-dry-run-check")


def rows_of(path: Path) -> list[dict[str, str]]:
    """The results sheet's rows as dicts, from CSV or XLSX (empty cells as '')."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    values = list(openpyxl.load_workbook(path)["Results"].iter_rows(values_only=True))
    header = [str(v) for v in values[0]]
    return [
        {k: "" if v is None else str(v) for k, v in zip(header, r, strict=True)} for r in values[1:]
    ]


class Clock:
    """A settable clock for the sandbox."""

    def __init__(self, now: float = 1_764_547_200.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("results", ["results.csv", "results.xlsx"])
def test_sandbox_rehearsal_ends_with_a_status_check(
    make_campaign: MakeCampaign, results: str
) -> None:
    """`run --sandbox` shows the account, then delivery columns for its sent rows, both formats."""
    campaign = make_campaign(12, contacts=None, results=results)
    (campaign.parent / "contacts.csv").write_text(
        (campaign.parent / "contacts.csv").read_text() + "12345,Bad\n"
    )
    done = run_cli("run", campaign, "--sandbox", "--quiet", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Account:     sandbox, balance 1000000.00\n")
    assert "Delivery of 12 sent: 12 delivered" in done.stdout
    rows = rows_of(sandbox_results(campaign.parent / results))  # a rehearsal's own sheet
    assert list(rows[0])[-3:] == ["text", "delivery", "delivery_checked_at"]
    sent = [r for r in rows if r["status"] == "sent"]
    assert len(sent) == 12 and {r["delivery"] for r in sent} == {"delivered"}
    assert all(r["delivery_checked_at"].endswith("Z") for r in sent)
    [invalid] = [r for r in rows if r["status"] == "invalid"]
    assert (invalid["delivery"], invalid["delivery_checked_at"]) == ("", "")


def test_status_against_a_standing_sandbox(make_campaign: MakeCampaign) -> None:
    """A send to a `wooxy-bulk sandbox` process, then `status`: statuses in the results; a second
    `status` asks only what is not final."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v3"
    sandbox = start_cli(
        "sandbox",
        "--port",
        port,
        "--delivery-delay-s",
        0,
        "--delivery-fail-rate",
        0.3,
        "--seed",
        1,
        env=cli_env(key=None),
    )
    try:
        assert sandbox.stdout is not None and "listening" in sandbox.stdout.readline()
        campaign = make_campaign(250)
        env = cli_env(api_url=url)
        sent = run_cli("run", campaign, *SEND, env=env)
        assert sent.returncode == 0, sent.stderr
        done = run_cli("status", campaign, "--quiet", env=env)
        again = run_cli("status", campaign, "--quiet", env=env)
        stats = httpx.get(f"http://127.0.0.1:{port}/sandbox/stats").json()
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.communicate(timeout=30)
    assert done.returncode == 0, done.stderr
    rows = rows_of(campaign.parent / "results.csv")
    counts = Counter(r["delivery"] for r in rows)
    assert counts["delivered"] + counts["failed"] == 250 and counts["failed"] > 30
    assert f"Delivery of 250 sent: {counts['delivered']} delivered, {counts['failed']} failed" in (
        done.stdout
    )
    assert again.returncode == 0 and stats["methods"]["sms/info"] == 3  # 100 + 100 + 50, once


def test_status_watch_ends_when_nothing_is_pending(make_campaign: MakeCampaign) -> None:
    """--watch asks again every --interval until every status is final, then exits 0."""
    campaign = make_campaign(30)
    clock = Clock()
    with running_sandbox(SandboxConfig(delivery_delay_s=60, clock=clock)) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, *SEND, env=env).returncode == 0
        proc = start_cli("status", campaign, "--watch", "--interval", "0.2", "--quiet", env=env)
        wait_until(lambda: box.state.stats()["methods"]["sms/info"] >= 2)  # two rounds: new
        clock.now += 60  # the sandbox delivers them
        out, err = proc.communicate(timeout=60)
        rounds = box.state.stats()["methods"]["sms/info"]
    assert proc.returncode == 0, err
    assert "Delivery of 30 sent: 30 delivered" in out
    assert rounds >= 3
    assert {r["delivery"] for r in rows_of(campaign.parent / "results.csv")} == {"delivered"}


def test_status_without_watch_leaves_pending_rows_pending(make_campaign: MakeCampaign) -> None:
    """One check right after the send: `new` shows as pending; an unknown word as pending (word)."""
    campaign = make_campaign(3)
    with running_sandbox(SandboxConfig(delivery_delay_s=3600)) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, *SEND, env=env).returncode == 0
        [second] = [m for m in box.state.messages if m["phoneNumber"] == numbers(3)[1]]
        box.state.deliveries.set_status(second["sms_id"], "enroute")
        done = run_cli("status", campaign, "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    assert [r["delivery"] for r in rows_of(campaign.parent / "results.csv")] == [
        "pending",
        "pending (enroute)",
        "pending",
    ]


def test_status_watch_stops_at_its_timeout(make_campaign: MakeCampaign) -> None:
    """--watch with statuses that stay new ends after --timeout, saying how many are pending."""
    campaign = make_campaign(3)
    with running_sandbox(SandboxConfig(delivery_delay_s=3600)) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, *SEND, env=env).returncode == 0
        done = run_cli(
            "status", campaign, "--watch", "--interval", "0.1", "--timeout", "0.5", env=env
        )
    assert done.returncode == 0, done.stderr
    assert "Still pending after the --timeout of 0.5 s: 3." in done.stdout


def test_status_account_error_exits_3_with_the_key_redacted(make_campaign: MakeCampaign) -> None:
    """An account error while asking: exit 3 with the API's text, the key shown as ***."""
    campaign = make_campaign(5)
    with running_sandbox() as box:
        assert run_cli("run", campaign, *SEND, env=cli_env(api_url=box.url)).returncode == 0
        done = run_cli("status", campaign, env=cli_env(api_url=box.url, key="sandbox-badsecret"))
    assert done.returncode == 3, done.stderr
    assert "Stopped: access token check failed for key/secret 1/***" in done.stderr
    assert "sandbox-badsecret" not in done.stdout + done.stderr


def test_status_of_a_campaign_never_sent(make_campaign: MakeCampaign) -> None:
    """Nothing sent to this URL: status says so, asks nothing and exits 0."""
    campaign = make_campaign(5)
    with running_sandbox() as box:
        done = run_cli("status", campaign, env=cli_env(api_url=box.url))
        asked = box.state.stats()["requests"]
    assert done.returncode == 0, done.stderr
    assert f"No message of this campaign was sent to {box.url}: nothing to ask." in done.stdout
    assert asked == 0


def test_status_upgrades_a_journal_from_before_delivery_status(make_campaign: MakeCampaign) -> None:
    """A journal of schema 1 (as the previous wooxy-bulk wrote it) opens, upgrades and records."""
    campaign = make_campaign(
        2, contacts="phone,first_name\n+447400100000,Olivia\n+447400100001,Noah\n"
    )
    journal = campaign.parent / ".wooxy-bulk" / "test.journal.sqlite"
    journal.parent.mkdir()
    shutil.copy(VERSION_1, journal)
    with running_sandbox() as box:
        url = box.url
        db = sqlite3.connect(journal)
        db.execute("UPDATE messages SET scope = ? WHERE scope = 'https://api.wooxy.com/v3'", (url,))
        db.commit()
        db.close()
        done = run_cli("status", campaign, "--quiet", env=cli_env(api_url=url))
    assert done.returncode == 0, done.stderr
    rows = rows_of(campaign.parent / "results.csv")
    assert [(r["status"], r["delivery"]) for r in rows] == [("sent", "not_found"), ("failed", "")]
    db = sqlite3.connect(journal)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def test_send_shows_the_account_first_and_an_account_error_sends_nothing(
    make_campaign: MakeCampaign,
) -> None:
    """A --yes run's first line is the account and its balance; an account error is exit 3 with
    nothing sent."""
    campaign = make_campaign(4)
    with running_sandbox(SandboxConfig(balance=10)) as box:
        done = run_cli("run", campaign, *SEND, env=cli_env(api_url=box.url))
        refused = run_cli(
            "run", campaign, *SEND, env=cli_env(api_url=box.url, key="sandbox-nodata")
        )
        accepted = len(box.state.messages)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Account:     sandbox, balance 0.50"
    assert refused.returncode == 0  # nothing left to send: the account is not even read
    campaign = make_campaign(6, results="other.csv")  # another sandbox: a sheet of its own
    with running_sandbox() as box:
        refused = run_cli(
            "run", campaign, *SEND, env=cli_env(api_url=box.url, key="sandbox-nodata")
        )
        sent = box.state.stats()["methods"]["sms/send"]
    assert refused.returncode == 3, refused.stderr
    assert "reading the account: no data found for key 1; nothing was sent" in refused.stderr
    assert (accepted, sent) == (4, 0)


def test_an_account_call_that_fails_is_said_and_the_send_goes_on(
    make_campaign: MakeCampaign,
) -> None:
    """account/info answering 500: the run says so and sends anyway."""
    campaign = make_campaign(3)
    with running_sandbox(SandboxConfig(fail_rate=1.0)) as box:
        done = run_cli("run", campaign, *SEND, env=cli_env(api_url=box.url))
        sends = box.state.stats()["methods"]["sms/send"]
    first = done.stdout.splitlines()[0]
    assert first == "Account:     could not be read (Internal server error); sending anyway"
    assert sends >= 3


def test_sigint_during_status_keeps_what_was_fetched_and_a_rerun_finishes(
    make_campaign: MakeCampaign,
) -> None:
    """Ctrl-C mid-check: exit 130, the batches answered are in the journal and the results; a
    second status asks only the rest."""
    campaign = make_campaign(600, api={"url": "http://127.0.0.1:9/v3", "concurrency": 1})
    with running_sandbox(SandboxConfig(delivery_delay_s=0)) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, *SEND, env=env).returncode == 0
        box.state.config = SandboxConfig(delivery_delay_s=0, latency_ms=300)
        proc = start_cli("status", campaign, "--quiet", env=env)
        wait_until(lambda: box.state.stats()["methods"]["sms/info"] >= 2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        first = Counter(r["delivery"] for r in rows_of(campaign.parent / "results.csv"))
        box.state.config = SandboxConfig(delivery_delay_s=0)
        asked_before = box.state.stats()["info_ids"]["asked"]
        done = run_cli("status", campaign, "--quiet", env=env)
        asked_after = box.state.stats()["info_ids"]["asked"]
    assert proc.returncode == 130, err
    assert 100 <= first["delivered"] < 600 and first["delivered"] % 100 == 0
    assert done.returncode == 0, done.stderr
    assert asked_after - asked_before == 600 - first["delivered"]


def test_an_estimate_over_the_balance_stops_before_sending(make_campaign: MakeCampaign) -> None:
    """With prices, a run whose estimate exceeds the account's balance is exit 3, nothing sent,
    and says how many messages the balance covers."""
    campaign = make_campaign(10, prices={"default": 0.05})
    with running_sandbox(SandboxConfig(balance=4)) as box:  # 4 messages × 0.05 = 0.20
        done = run_cli("run", campaign, *SEND, env=cli_env(api_url=box.url))
        assert box.state.stats()["methods"]["sms/send"] == 0
        assert done.returncode == 3, done.stderr
        assert done.stdout.splitlines()[0] == "Account:     sandbox, balance 0.20"
        assert (
            "the estimated cost 0.50 exceeds the account's balance 0.20: it covers the first 4"
            " of 10 messages; send those with --limit 4, or top up the balance" in done.stderr
        )
        done = run_cli("run", campaign, *SEND, "--limit", "4", env=cli_env(api_url=box.url))
        assert done.returncode == 0, done.stderr
        assert len(box.state.messages) == 4
