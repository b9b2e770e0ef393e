"""Ctrl-C and SIGTERM on a real `wooxy-bulk run`: at start-up, at the prompt, mid-send, twice, and
while the results are written."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import openpyxl
import pytest
from conftest import MakeCampaign, cli_env, numbers, start_cli
from test_cli_run import results, signal_mid_run, statuses, wait_for

from wooxy_bulk.sandbox import SandboxConfig, running_sandbox

SEND = ("--yes", "--quiet", "--no-dry-run-check")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay_s", [0.3, 0.6, 1.2])
def test_a_signal_during_start_up_is_a_clean_exit_130(
    make_campaign: MakeCampaign, signum: int, delay_s: float
) -> None:
    """Interrupted while it loads or reads the contacts: exit 130, one line, no traceback."""
    campaign = make_campaign(20000)
    proc = start_cli("run", campaign, *SEND, env=cli_env(api_url="http://127.0.0.1:9/v3"))
    time.sleep(delay_s)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert err.startswith("Error: interrupted")
    assert not (campaign.parent / "results.csv").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_send_stops_and_writes_the_results(
    make_campaign: MakeCampaign, signum: int
) -> None:
    """Ctrl-C or SIGTERM mid-send: requests in flight finish, results complete, exit 130, and
    the closing summary counts what was sent."""
    campaign = make_campaign(300)
    with running_sandbox(SandboxConfig(latency_ms=50)) as box:
        proc = signal_mid_run(campaign, box, signum)
        out, err = proc.communicate(timeout=60)
        accepted = len(box.state.messages)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    counts = statuses(campaign.parent / "results.csv")
    assert counts["sent"] == accepted and counts["sent"] + counts["not_sent"] == 300
    assert f"Sent {accepted} in this run" in out


def test_a_second_ctrl_c_still_counts_what_was_sent(make_campaign: MakeCampaign) -> None:
    """A second Ctrl-C stops waiting: the rows in flight are unknown, and the summary says how
    many were sent, never "Sent nothing"."""
    campaign = make_campaign(300)
    with running_sandbox(SandboxConfig(latency_ms=400)) as box:
        proc = signal_mid_run(campaign, box, signal.SIGINT, after=25)
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    counts = statuses(campaign.parent / "results.csv")
    assert counts["sent"] >= 20 and 1 <= counts["unknown"] <= 10
    assert "Sent nothing" not in out
    assert f"Sent {counts['sent']} in this run" in out


def test_ctrl_c_while_the_results_are_written_does_not_cut_them_short(
    make_campaign: MakeCampaign,
) -> None:
    """Signals that keep coming while a large results sheet is written: it is written whole,
    then exit 130, and the summary counts the messages sent."""
    campaign = make_campaign(40000, results="results.xlsx")
    with running_sandbox(SandboxConfig()) as box:
        proc = start_cli("run", campaign, "--limit", "15", *SEND, env=cli_env(api_url=box.url))
        wait_for(lambda: len(box.state.messages) == 15, timeout=120)
        time.sleep(0.05)
        while proc.poll() is None:  # into the writing of the sheet
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    sheet = openpyxl.load_workbook(campaign.parent / "results.xlsx", read_only=True)["Results"]
    assert sheet.max_row == 40001
    assert "Sent 15 in this run" in out
    assert "nothing was sent" not in err


def test_ctrl_c_at_the_prompt_exits_130_and_sends_nothing(make_campaign: MakeCampaign) -> None:
    """Ctrl-C at the y/N prompt: exit 130, nothing sent, no traceback."""
    campaign = make_campaign(5)
    master, slave = pty.openpty()
    with running_sandbox(SandboxConfig()) as box:
        args = ["run", str(campaign), "--no-dry-run-check"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "wooxy_bulk", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=cli_env(api_url=box.url),
        )
        os.close(slave)
        shown = b""
        while b"Send now? [y/N]" not in shown:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready, shown
            shown += os.read(master, 4096)
        time.sleep(0.3)  # the prompt is shown before its read begins: Ctrl-C as a person would
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        try:
            while select.select([master], [], [], 0.5)[0]:
                shown += os.read(master, 4096)
        except OSError:
            pass
        os.close(master)
        sent = len(box.state.messages)
    text = shown.decode(errors="replace")
    assert code == 130, text
    assert sent == 0
    assert "Traceback" not in text
    assert "interrupted; nothing was sent" in text


def test_the_rows_left_are_sent_by_a_rerun(make_campaign: MakeCampaign) -> None:
    """After an interrupted run, a re-run sends exactly the rest."""
    campaign = make_campaign(120)
    with running_sandbox(SandboxConfig(latency_ms=30)) as box:
        env = cli_env(api_url=box.url)
        proc = signal_mid_run(campaign, box, signal.SIGTERM)
        proc.communicate(timeout=60)
        again = start_cli("run", campaign, *SEND, env=env)
        again.communicate(timeout=60)
        sent = sorted(m["phoneNumber"] for m in box.state.messages)
    assert again.returncode == 0
    assert sent == sorted(numbers(120))
    assert {r["status"] for r in results(campaign.parent / "results.csv")} == {"sent"}
