"""`wooxy-bulk run` as a real process: dry run, sandbox sends, exit codes, kills and Ctrl-C."""

from __future__ import annotations

import csv
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, quote_plus

import openpyxl
import pytest
import yaml
from conftest import MakeCampaign, cli_env, closed_port, numbers, run_cli, start_cli

from wooxy_bulk.sandbox import RunningSandbox, SandboxConfig, running_sandbox

ROOT = Path(__file__).resolve().parent.parent


def sample_copy(folder: Path) -> Path:
    """The sample campaign copied into `folder`, so its journal never lands in the repository."""
    for part in ("campaigns", "templates", "sample_data"):
        shutil.copytree(ROOT / part, folder / part, ignore=shutil.ignore_patterns(".wooxy-bulk"))
    return folder / "campaigns" / "spring-sale.yaml"


def results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def statuses(path: Path) -> Counter[str]:
    return Counter(r["status"] for r in results(path))


def accepted(box: RunningSandbox) -> Counter[str]:
    return Counter(m["phoneNumber"] for m in box.state.messages)


def wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def signal_mid_run(
    campaign: Path,
    box: RunningSandbox,
    signum: int,
    *,
    env: dict[str, str] | None = None,
    after: int = 40,
) -> subprocess.Popen:
    """Start a send to `box` and hit it with `signum` once `after` messages have been accepted."""
    env = env or cli_env(api_url=box.url)
    proc = start_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
    wait_for(lambda: len(box.state.messages) >= after)
    proc.send_signal(signum)
    return proc


def test_dry_run_of_the_sample_campaign(tmp_path: Path) -> None:
    """The sample's dry run needs no key, prints the summary and writes `ready` rows."""
    out = tmp_path / "r.csv"
    done = run_cli(
        "run", sample_copy(tmp_path), "--dry-run", "--results", out, env=cli_env(key=None)
    )
    assert done.returncode == 0, done.stderr
    assert "Rows read:       34" in done.stdout
    assert "Ready to send:   26" in done.stdout
    assert "First 3 messages:" in done.stdout
    counts = statuses(out)
    assert counts == {"ready": 26, "invalid": 5, "duplicate": 2, "suppressed": 1}


def test_sandbox_run_of_the_sample_campaign(tmp_path: Path) -> None:
    """`run --sandbox` sends every ready row to a sandbox of its own; sent rows carry sms_id in
    the rehearsal's own results file."""
    out = tmp_path / "r.xlsx"
    done = run_cli(
        "run",
        sample_copy(tmp_path),
        "--sandbox",
        "--quiet",
        "--results",
        out,
        env=cli_env(key=None),
    )
    assert done.returncode == 0, done.stderr
    assert "Done: 26 sent, 5 invalid, 2 duplicate, 1 suppressed" in done.stdout
    assert not out.exists()  # a rehearsal writes a results file of its own
    sheet = openpyxl.load_workbook(tmp_path / "r-sandbox.xlsx")["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    sent = [r for r in rows[1:] if r[header.index("status")] == "sent"]
    assert len(sent) == 26
    assert all(len(r[header.index("sms_id")]) == 24 for r in sent)


@pytest.mark.parametrize(
    ("changes", "env_key", "expected"),
    [
        ({"domian": "x"}, "k", "campaign.yaml: unknown key 'domian'; did you mean 'domain'?"),
        ({"api": {"concurrency": 11}}, "k", "key 'api.concurrency': must be at most 10"),
        ({"contacts": "nope.csv"}, "k", "nope.csv"),
        ({"phone_column": "mobile"}, "k", "the columns are: phone, first_name"),
        ({"message": {"text": "Hi {{ name }"}}, "k", "message.text: line 1:"),
        ({"message": {"text": "Hi {{ nmae }}"}}, "k", "{{ nmae }} is not a column"),
        ({"name": None}, "k", "key 'name' has no value"),
        ({"from_name": "Shop Name 2025"}, "k", "key 'from_name': 'Shop Name 2025' must be at most"),
        ({"tags": ["_x"]}, "k", "key 'tags': tag '_x' starts with '_'"),
        ({"tags": ["y" * 51]}, "k", "is longer than 50 characters"),
        ({"message": {"template": "none.j2"}}, "k", "key 'message.template': no such file"),
        ({"sheet": "Contacts"}, "k", "contacts.csv"),
        ({"suppress": ["optout.csv"]}, "k", "optout.csv"),
        ({}, None, "WOOXY_API_KEY is not set"),
        ({"api": {"url": "http://api.example.com/v3"}}, "k", "would send the API key unencrypted"),
        (
            {"api": {"url": "https://me:pw@api.example.com/v3"}},
            "k",
            "api.url: remove the user name and password from the URL",
        ),
        ({"api": {"url": "https://api.example.com:99999/v3"}}, "k", "has an invalid port"),
        ({}, "k", "add --yes to send without asking"),
    ],
)
def test_mistakes_exit_2_with_one_clear_message(
    make_campaign: MakeCampaign, changes: dict, env_key: str | None, expected: str
) -> None:
    """Each mistake: exit 2, a message naming file or key and what to do, no traceback."""
    campaign = make_campaign(5, **changes)
    done = run_cli("run", campaign, "--no-dry-run-check", env=cli_env(key=env_key))
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert done.stderr.startswith("Error: ")
    assert "Traceback" not in done.stderr + done.stdout
    assert not (campaign.parent / "results.csv").exists()


def test_balance_error_exits_3_and_the_rerun_sends_the_rest(make_campaign: MakeCampaign) -> None:
    """Insufficient balance stops with exit 3; once topped up, a re-run sends only the rest."""
    campaign = make_campaign(40)
    out = campaign.parent / "results.csv"
    with running_sandbox(SandboxConfig(balance=15)) as box:
        env = cli_env(api_url=box.url)
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        assert done.returncode == 3, done.stderr
        assert "Insufficient balance" in done.stderr
        assert statuses(out) == {"sent": 15, "not_sent": 25}
        box.state.config = replace(box.state.config, balance=None)  # topped up
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        assert done.returncode == 0, done.stderr
        assert statuses(out) == {"sent": 40}
        assert accepted(box) == Counter(numbers(40))


def test_sigkill_mid_run_then_rerun_sends_no_number_twice(make_campaign: MakeCampaign) -> None:
    """A run killed with SIGKILL and run again sends no number twice; in-flight rows are unknown."""
    campaign = make_campaign(150)
    out = campaign.parent / "results.csv"
    with running_sandbox(SandboxConfig(latency_ms=60)) as box:
        env = cli_env(api_url=box.url)
        proc = signal_mid_run(campaign, box, signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(0.2)  # let the requests the dead process left behind land
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        counts = accepted(box)
        peak = box.state.stats()["peak_concurrency"]
    assert done.returncode == 1, done.stderr  # the in-flight rows are unknown
    assert peak <= 10
    assert max(counts.values()) == 1  # nobody got the SMS twice
    rows = results(out)
    by_status = Counter(r["status"] for r in rows)
    assert 1 <= by_status["unknown"] <= 10
    assert by_status["sent"] + by_status["unknown"] == 150
    sent = {r["phone_e164"]: r["sms_id"] for r in rows if r["status"] == "sent"}
    ids = {m["phoneNumber"]: m["sms_id"] for m in box.state.messages}
    assert all(ids[p] == sms_id for p, sms_id in sent.items())
    unknown = [r for r in rows if r["status"] == "unknown"]
    assert all("--resend-unknown" in r["error"] for r in unknown)


def test_sigint_exits_130_with_complete_results_and_a_rerun_finishes(
    make_campaign: MakeCampaign,
) -> None:
    """Ctrl-C: requests in flight finish, results are complete, exit 130; a re-run finishes."""
    campaign = make_campaign(150)
    out = campaign.parent / "results.csv"
    with running_sandbox(SandboxConfig(latency_ms=60)) as box:
        env = cli_env(api_url=box.url)
        proc = signal_mid_run(campaign, box, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        first = results(out)
        assert len(first) == 150
        assert {r["status"] for r in first} == {"sent", "not_sent"}
        sent_first = sum(r["status"] == "sent" for r in first)
        assert sent_first == len(box.state.messages)  # nothing in flight was lost
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        counts = accepted(box)
        peak = box.state.stats()["peak_concurrency"]
    assert done.returncode == 0, done.stderr
    assert peak == 10
    assert statuses(out) == {"sent": 150}
    assert counts == Counter(numbers(150))


@pytest.mark.parametrize("secret", ["wx_live_0123456789abcdef", "wx/live+0123456789/abc=="])
def test_a_wrong_key_exits_3_and_is_never_shown(make_campaign: MakeCampaign, secret: str) -> None:
    """A refused key: exit 3; the key echoed by the API (PHP-escaped: ``wx\\/live``) appears in
    no output, result or journal, as sent, JSON-escaped or URL-encoded."""
    campaign = make_campaign(10)
    with running_sandbox(SandboxConfig()) as box:
        done = run_cli(
            "run",
            campaign,
            "--yes",
            "--quiet",
            "--no-dry-run-check",
            env=cli_env(box.url, key=secret),
        )
    assert done.returncode == 3
    assert "no matches found for access token ***" in done.stderr
    folder = campaign.parent
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in written)
    forms = {secret, secret.replace("/", "\\/"), quote(secret, safe=""), quote_plus(secret)}
    for text in [done.stdout, done.stderr, *(p.read_bytes().decode("latin-1") for p in written)]:
        assert not any(form in text for form in forms)


def test_limit_sends_at_most_n_and_the_next_run_continues(make_campaign: MakeCampaign) -> None:
    """--limit N sends N; the rest are not_sent and the next run sends them."""
    campaign = make_campaign(12)
    out = campaign.parent / "results.csv"
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        done = run_cli(
            "run", campaign, "--yes", "--quiet", "--no-dry-run-check", "--limit", "5", env=env
        )
        assert done.returncode == 0, done.stderr
        assert statuses(out) == {"sent": 5, "not_sent": 7}
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        assert statuses(out) == {"sent": 12}
        assert accepted(box) == Counter(numbers(12))
        done = run_cli(
            "run", campaign, "--yes", "--no-dry-run-check", env=env
        )  # nothing left to send
        assert done.returncode == 0, done.stderr
        assert "Done: 12 sent\nSent nothing in this run\n" in done.stdout + done.stderr
        assert accepted(box) == Counter(numbers(12))


def test_sandbox_rehearsals_are_journaled_apart(make_campaign: MakeCampaign) -> None:
    """Rows sent in a --sandbox rehearsal are still sent by a run against another API URL."""
    campaign = make_campaign(6)
    done = run_cli("run", campaign, "--sandbox", "--quiet", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    with running_sandbox(SandboxConfig()) as box:
        done = run_cli(
            "run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=cli_env(api_url=box.url)
        )
        assert done.returncode == 0, done.stderr
        assert accepted(box) == Counter(numbers(6))


def converse(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, answer its prompt, return (exit code, everything shown)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24x100
    proc = subprocess.Popen(
        [sys.executable, "-m", "wooxy_bulk", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    shown, answered = b"", False
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        assert ready, f"no output; so far: {shown!r}"
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not answered and b"Send now? [y/N]" in shown:
            os.write(master, answer.encode() + b"\n")
            answered = True
    os.close(master)
    return proc.wait(timeout=60), shown.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code", "sent"), [("n", 2, 0), ("y", 0, 5)])
def test_a_real_send_asks_first_on_a_terminal(
    make_campaign: MakeCampaign, answer: str, code: int, sent: int
) -> None:
    """On a terminal, a send shows recipients, segments, from name, domain and URL, then asks."""
    campaign = make_campaign(5)
    assert run_cli("run", campaign, "--dry-run", env=cli_env()).returncode == 0
    with running_sandbox(SandboxConfig()) as box:
        status, shown = converse(["run", str(campaign)], cli_env(api_url=box.url), answer)
        assert len(box.state.messages) == sent
    assert status == code, shown
    for line in (
        "Recipients:  5",
        "Segments:    5",
        "From name:   Shop",
        "Domain:      shop.example.com",
        f"API URL:     {box.url}",
    ):
        assert line in shown
    if sent:
        assert "msg/s" in shown and "sent=5" in shown  # the progress bar
    else:
        assert "not confirmed; nothing was sent" in shown


def test_injected_faults_end_with_every_row_sent_once(make_campaign: MakeCampaign) -> None:
    """Through injected 500s and publishing errors, the campaign ends with every row sent once."""
    campaign = make_campaign(80, api={"url": "http://127.0.0.1:9/v3", "max_attempts": 10})
    config = SandboxConfig(fail_rate=0.2, publish_error_rate=0.1, seed=11)
    with running_sandbox(config) as box:
        done = run_cli(
            "run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=cli_env(api_url=box.url)
        )
        stats = box.state.stats()
        counts = accepted(box)
    assert done.returncode == 0, done.stderr
    assert stats["faults"]["internal"] > 0 and stats["faults"]["publishing"] > 0
    assert counts == Counter(numbers(80))
    assert statuses(campaign.parent / "results.csv") == {"sent": 80}
    assert stats["peak_concurrency"] <= 10


def calc_workbook(path: Path, rows: list[list[object]]) -> None:
    """An XLSX as Calc saves one: phones typed as +49… stored as number cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_dry_run_reads_numbers_that_lost_their_plus(make_campaign: MakeCampaign) -> None:
    """A DE sheet with +4915123456789 stored as a number: the mobile, with a note naming the
    landline reading; a value the tool cannot tell is invalid naming both; counts printed."""
    campaign = make_campaign(default_region="DE")
    data = yaml.safe_load(campaign.read_text(encoding="utf-8"))
    data.update(contacts="c.xlsx", country_column="country")
    campaign.write_text(yaml.safe_dump(data), encoding="utf-8")
    calc_workbook(
        campaign.parent / "c.xlsx",
        [
            ["phone", "first_name", "country"],
            [4915123456789, "Lena", None],  # Calc's number cell of +49 1512 3456789
            [38328012345, "Arben", "XK"],  # two Kosovo landlines: +383 28012345 or 038328012345
            ["+49 30 1234567", "Büro", None],  # a landline: sent, noted
            ["+49 900 1234567", "Hotline", None],  # premium rate: invalid
        ],
    )
    done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    rows = {r["first_name"]: r for r in results(campaign.parent / "results.csv")}
    lena = rows["Lena"]
    assert (lena["status"], lena["phone_e164"]) == ("ready", "+4915123456789")
    assert lena["note"] == (
        "read as +4915123456789 (mobile, with the + a number cell loses),"
        " not +494915123456789 (fixed-line, as written)"
    )
    assert rows["Büro"]["status"] == "ready"
    assert rows["Büro"]["note"] == "fixed-line number: it may not receive SMS"
    assert rows["Arben"]["status"] == "invalid"
    assert rows["Arben"]["error"] == (
        "'38328012345' could be +38338328012345 (fixed-line, as written) or +38328012345"
        " (fixed-line, with the + a number cell loses); write it with + and its country code"
    )
    assert rows["Hotline"]["status"] == "invalid"
    assert rows["Hotline"]["error"] == (
        "'+49 900 1234567' is a premium-rate number, which cannot receive SMS"
    )
    assert "Ready to send:   2\nInvalid:         2\n" in done.stdout
    assert "Notes on 2 row(s) (see the note column):" in done.stdout


def test_mobile_only_makes_landlines_invalid(make_campaign: MakeCampaign) -> None:
    """mobile_only: true: a fixed-line number is invalid, a mobile is sent."""
    contacts = "phone,first_name\n020 7946 0000,Office\n07400 100000,Ann\n"
    campaign = make_campaign(contacts=contacts, mobile_only=True)
    done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    rows = {r["first_name"]: r for r in results(campaign.parent / "results.csv")}
    assert rows["Office"]["status"] == "invalid"
    assert rows["Office"]["error"] == (
        "'020 7946 0000' is a fixed-line number, not a mobile (mobile_only: true)"
    )
    assert rows["Ann"]["status"] == "ready" and rows["Ann"]["note"] == ""


def test_a_crm_export_suppresses_by_its_mobile_column(make_campaign: MakeCampaign) -> None:
    """An `email,Mobile` opt-out export suppresses its numbers; one with emails only stops the
    run before anything is sent (exit 2), naming the file and its columns."""
    campaign = make_campaign(3, suppress=["optout.csv"])
    optout = campaign.parent / "optout.csv"
    optout.write_text("email,Mobile\na@example.com,07400 100000\nb@example.com,447400100002\n")
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, "--dry-run", env=env).returncode == 0
        done = run_cli("run", campaign, "--yes", "--quiet", env=env)
        assert done.returncode == 0, done.stderr
        assert accepted(box) == Counter(["+447400100001"])
        assert statuses(campaign.parent / "results.csv") == {"sent": 1, "suppressed": 2}
        optout.write_text("email,Name\na@example.com,Ann\n")
        (campaign.parent / "results.csv").unlink()
        assert run_cli("run", campaign, "--dry-run", env=env).returncode == 2
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        assert done.returncode == 2
        assert done.stderr == (
            f"Error: {optout}: yields no phone numbers to suppress: no column holds phone"
            " numbers; its columns are: email, Name. Put the numbers never to text in a column"
            " named 'phone'\n"
        )
        assert len(box.state.messages) == 1


def test_an_unreachable_api_leaves_rows_not_sent_for_a_rerun(make_campaign: MakeCampaign) -> None:
    """Connection refused: nothing left the machine, so rows are not_sent (not failed), the
    closing message says a re-run sends them, exit 1; the re-run does."""
    campaign = make_campaign(4, api={"url": "http://127.0.0.1:9/v3", "max_attempts": 2})
    out = campaign.parent / "results.csv"
    refused = f"http://127.0.0.1:{closed_port()}/v3"
    done = run_cli(
        "run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=cli_env(api_url=refused)
    )
    assert done.returncode == 1, done.stderr
    assert "4 messages never reached the API (see their error); they are not_sent: run again" in (
        done.stderr
    )
    rows = results(out)
    assert {r["status"] for r in rows} == {"not_sent"}
    assert rows[0]["error"].startswith("connection refused (gave up after 2 attempts;")
    with running_sandbox(SandboxConfig()) as box:
        done = run_cli(
            "run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=cli_env(api_url=box.url)
        )
        assert done.returncode == 0, done.stderr
        assert accepted(box) == Counter(numbers(4))


def test_a_real_send_needs_a_dry_run_of_the_same_plan(make_campaign: MakeCampaign) -> None:
    """No dry run, or contacts changed since: exit 2 and nothing sent; after a dry run, it sends."""
    campaign = make_campaign(5)
    contacts = campaign.parent / "contacts.csv"
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        done = run_cli("run", campaign, "--yes", "--quiet", env=env)
        assert done.returncode == 2
        assert "no dry run of this campaign yet" in done.stderr
        assert run_cli("run", campaign, "--dry-run", env=env).returncode == 0
        contacts.write_text(contacts.read_text() + "+447400100099,Late\n")
        done = run_cli("run", campaign, "--yes", "--quiet", env=env)
        assert done.returncode == 2
        assert "contacts.csv changed since the dry run at " in done.stderr
        assert not box.state.messages
        assert run_cli("run", campaign, "--dry-run", env=env).returncode == 0
        done = run_cli("run", campaign, "--yes", "--quiet", "--limit", "2", env=env)
        assert done.returncode == 0, done.stderr
        done = run_cli("run", campaign, "--yes", "--quiet", env=env)  # resumed, plan unchanged
        assert done.returncode == 0, done.stderr
        assert len(box.state.messages) == 6
    assert run_cli("run", campaign, "--sandbox", "--quiet", env=cli_env(key=None)).returncode == 0


def test_test_to_sends_the_first_texts_to_one_number_and_leaves_the_campaign_alone(
    make_campaign: MakeCampaign,
) -> None:
    """--test-to: N texts to NUMBER (read as the campaign reads numbers), ids printed; twice."""
    campaign = make_campaign(5)
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        for _ in range(2):  # a second test send is allowed
            done = run_cli(
                "run", campaign, "--test-to", "07400 900123", "--test-count", "2", env=env
            )
            assert done.returncode == 0, done.stderr
        sent = [(m["phoneNumber"], m["text"]) for m in box.state.messages]
        assert (
            sent
            == [
                ("+447400900123", "Hi Name0, spring sale!"),
                ("+447400900123", "Hi Name1, spring sale!"),
            ]
            * 2
        )
        ids = [m["sms_id"] for m in box.state.messages]
        assert all(f"sms_id {i}" in done.stdout for i in ids[2:])  # the last run's ids
        assert "Test sent: row 2's text to +447400900123" in done.stdout
        assert not (campaign.parent / "results.csv").exists()
        assert not (campaign.parent / ".wooxy-bulk" / "test.journal.sqlite").exists()
        # the campaign still needs its dry run, and then sends every row once
        assert run_cli("run", campaign, "--dry-run", env=env).returncode == 0
        done = run_cli("run", campaign, "--yes", "--quiet", env=env)
        assert done.returncode == 0, done.stderr
        assert len(box.state.messages) == 4 + 5


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--test-to", "12345"], "--test-to: "),
        (["--test-to", "+447400900123", "--dry-run"], "choose one"),
    ],
)
def test_test_to_mistakes_exit_2(
    make_campaign: MakeCampaign, args: list[str], expected: str
) -> None:
    """A bad test number, or --test-to with --dry-run: exit 2 and nothing sent."""
    campaign = make_campaign(3)
    done = run_cli("run", campaign, *args, "--sandbox", env=cli_env(key=None))
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_test_to_the_sandbox_needs_no_key(make_campaign: MakeCampaign) -> None:
    """--test-to with --sandbox needs neither a key nor a dry run."""
    campaign = make_campaign(3)
    done = run_cli(
        "run", campaign, "--sandbox", "--test-to", "+447400900123", env=cli_env(key=None)
    )
    assert done.returncode == 0, done.stderr
    assert "Test sent: row 2's text to +447400900123: sms_id " in done.stdout


def test_the_dry_run_names_what_makes_texts_ucs_2_and_what_they_cost(
    make_campaign: MakeCampaign,
) -> None:
    """Dry run: the culprits and their source, the replacement's saving, cost by country."""
    contacts = "phone,first_name\n+447400100000,Ann\n+447400100001,Łukasz\n+33612345678,Zoé\n"
    text = "Hi {{ first_name }}, it’s our spring sale: " + "x" * 60
    campaign = make_campaign(
        contacts=contacts, message={"text": text}, prices={"default": 0.05, "GB": 0.035}
    )
    done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "UCS-2: 3 messages, 3 segments more than in GSM-7, because of:" in out
    assert "  ’ U+2019 in 3 rows (from the template)" in out
    assert "  Ł U+0141 in 1 rows (from column 'first_name')" in out
    assert "characters: replace would save 2 segments in 2 messages" in out
    assert "  GB: 2 messages, 4 segments, est. 0.14" in out
    assert "  FR: 1 messages, 2 segments, est. 0.10" in out
    assert "Warning: the template holds characters GSM-7 cannot carry (’ U+2019)" in out
    with (campaign.parent / "results.csv").open(encoding="utf-8-sig") as f:
        notes = [r["note"] for r in csv.DictReader(f)]
    assert notes[1] == "UCS-2 because of Ł U+0141 ×1, ’ U+2019 ×1"
    assert notes[0] == "UCS-2 because of ’ U+2019 ×1"
    xlsx = campaign.parent / "results.xlsx"
    done = run_cli("run", campaign, "--dry-run", "--results", xlsx, env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(xlsx, read_only=True)
    sheet = list(book["Results"].values) if "Results" in book else list(book.worksheets[0].values)
    at = sheet[0].index("note")
    assert sheet[2][at] == "UCS-2 because of Ł U+0141 ×1, ’ U+2019 ×1"
    summary = [
        r for r in book["Summary"].values if r and r[0] in ("country", "GB", "FR", "all countries")
    ]
    assert [r[:4] for r in summary[-4:]] == [
        ("country", "messages", "segments", "est. cost"),
        ("GB", 2, 4, 0.14),
        ("FR", 1, 2, 0.1),
        ("all countries", 3, 6, 0.24),
    ]

    campaign = make_campaign(contacts=contacts, message={"text": text}, characters="replace")
    done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    assert "characters: replace saved 2 segments in 2 messages" in done.stdout
    assert "UCS-2: 1 messages" in done.stdout  # Łukasz keeps his Ł
    assert "it's our spring sale" in (campaign.parent / "results.csv").read_text()


def test_a_stopped_process_reads_the_answers_that_came_meanwhile(
    make_campaign: MakeCampaign,
) -> None:
    """SIGSTOP for longer than api.timeout_s, then SIGCONT (a laptop's lid): the requests in
    flight were answered meanwhile, so their rows end `sent`, not `unknown`; the connections the
    server closed meanwhile are not used again blindly; nobody gets a message twice."""
    campaign = make_campaign(30, api={"url": "http://127.0.0.1:9/v3", "timeout_s": 1})
    with running_sandbox(SandboxConfig(latency_ms=300), keep_alive_s=0.5) as box:
        env = cli_env(api_url=box.url)
        proc = start_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        wait_for(lambda: box.state.in_flight == 10)
        proc.send_signal(signal.SIGSTOP)
        wait_for(lambda: box.state.in_flight == 0)  # every answer is in the stopped one's sockets
        time.sleep(2.5)  # well past the 1 s timeout and the server's 0.5 s keep-alive
        proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=60)
        counts = accepted(box)
    assert proc.returncode == 0, err
    assert statuses(campaign.parent / "results.csv") == {"sent": 30}
    assert counts == Counter(numbers(30))


def test_dry_run_names_the_sheet_and_the_encoding_read(tmp_path: Path) -> None:
    """The dry run's Contacts line says which sheet (and which were passed over) or encoding."""
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old list 2022"
    old.append(["phone"])
    old.sheet_state = "hidden"
    book.create_sheet("Contacts").append(["phone"])
    book["Contacts"].append(["+447911123456"])
    book.save(tmp_path / "c.xlsx")
    (tmp_path / "c.csv").write_bytes("phone,city\n+447911123456,Łódź\n".encode("cp1250"))
    for contacts, line in (
        (
            "c.xlsx",
            "Contacts:        c.xlsx, sheet 'Contacts' (not read: 'Old list 2022' (hidden))",
        ),
        ("c.csv", "Contacts:        c.csv, encoding Windows-1250"),
    ):
        campaign = tmp_path / "campaign.yaml"
        campaign.write_text(
            f"name: t\ncontacts: {contacts}\nmessage: {{text: Hi}}\ndomain: shop.example.com\n"
            "results: r.csv\n",
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "wooxy_bulk", "run", "campaign.yaml", "--dry-run"],
            cwd=tmp_path,
            env=cli_env(key=None),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert line in proc.stdout.splitlines()
