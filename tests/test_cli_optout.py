"""`wooxy-bulk optout` and the ledger as campaigns see it: opt-outs shared by every campaign on
it, the frequency cap across campaigns run at once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import POSTGRES_PASSWORD, cli_env, damaged_ledger, numbers, run_cli, start_cli

from wooxy_bulk.cli import main
from wooxy_bulk.sandbox import SandboxConfig, running_sandbox

A, B, C = numbers(3)


def optout(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `wooxy-bulk optout ARGS` in-process; its exit code and its output."""
    result = CliRunner().invoke(main, ["optout", *args], env={"WOOXY_LEDGER": "", **(env or {})})
    return result.exit_code, result.output


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_option(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A --ledger value: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite")
    return request.getfixturevalue("postgres_url")


def test_add_list_remove(ledger_option: str) -> None:
    """Numbers read like contacts (--region for national ones) go on and off the list."""
    code, out = optout("add", A, "07400 100001", "--region", "GB", "--reason", "STOP", "--ledger",
                       ledger_option)  # fmt: skip
    assert code == 0, out
    assert out.startswith("2 number(s) added to the opt-out list of ")
    assert POSTGRES_PASSWORD not in out
    code, out = optout("add", A, "--ledger", ledger_option)
    assert "0 number(s) added" in out and "(1 already on it)" in out
    code, out = optout("list", "--csv", "--ledger", ledger_option)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["phone"], r["reason"], r["source"]) for r in rows] == [
        (A, "STOP", "optout add"),
        (B, "STOP", "optout add"),
    ]
    code, out = optout("remove", A, C, "--ledger", ledger_option)
    assert code == 0 and "1 number(s) removed" in out and "(1 not on it)" in out
    code, out = optout("list", "--ledger", ledger_option)
    assert B in out and A not in out and "1 number(s) on the opt-out list" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["12345", "--region", "GB"], "'12345' is not a valid number for GB (too short)\nnothing"),
        (["abc"], "'abc' is not a phone number"),
        (["07400100001"], "'07400100001' has no country code and no region"),
        (["+447400100001", "--region", "XX"], "--region: 'XX' is not a country code"),
    ],
)
def test_a_bad_number_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    """Each bad number is named; exit 2; not even the good ones are added."""
    ledger = str(tmp_path / "l.sqlite")
    code, out = optout("add", A, *args, "--ledger", ledger)
    assert code == 2
    assert message in out
    assert optout("list", "--csv", "--ledger", ledger)[1].strip() == "phone,since,reason,source"


def test_import_reads_a_file_like_a_suppress_file(tmp_path: Path) -> None:
    """Every number of a CSV goes on the list with the file as its source; a bad row is named."""
    good = tmp_path / "stops.csv"
    good.write_text(f"phone,date\n{A},1 May\n07400100001,2 May\n", encoding="utf-8")
    code, out = optout("import", str(good), "--region", "GB", "--ledger", str(tmp_path / "l"))
    assert code == 0 and out.startswith("2 number(s) added")
    listed = optout("list", "--csv", "--ledger", str(tmp_path / "l"))[1]
    assert "stops.csv" in listed
    bad = tmp_path / "bad.csv"
    bad.write_text(f"phone\n{C}\nnot-a-number\n", encoding="utf-8")
    code, out = optout("import", str(bad), "--ledger", str(tmp_path / "l"))
    assert code == 2 and "bad.csv: row 3: 'not-a-number' is not a phone number" in out
    crm = tmp_path / "crm.csv"  # no phone header: the column holding the numbers is read
    crm.write_text(f"email,contact\na@b.example,{C}\n", encoding="utf-8")
    code, out = optout("import", str(crm), "--ledger", str(tmp_path / "l"))
    assert code == 0 and out.startswith("1 number(s) added")
    emails = tmp_path / "emails.csv"
    emails.write_text("email\na@b.example\n", encoding="utf-8")
    code, out = optout("import", str(emails), "--ledger", str(tmp_path / "l"))
    assert code == 2 and "emails.csv: yields no phone numbers" in out


def test_listing_or_removing_creates_no_ledger(tmp_path: Path) -> None:
    """`optout list` and `optout remove` on a SQLite ledger that does not exist yet say so,
    exit 0 and create neither the file nor its folder; a bad number is still exit 2."""
    ledger = tmp_path / "team" / "ledger.sqlite"
    code, out = optout("list", "--ledger", str(ledger))
    assert code == 0 and "0 number(s) on the opt-out list of " in out
    assert "(no ledger there yet)" in out
    code, out = optout("remove", A, "--ledger", str(ledger))
    assert code == 0 and "0 number(s) removed from the opt-out list of " in out
    assert "(no ledger there yet) (1 not on it)" in out
    assert optout("remove", "abc", "--ledger", str(ledger))[0] == 2
    assert not (tmp_path / "team").exists()


def test_a_damaged_ledger_is_exit_2_with_advice(tmp_path: Path, make_campaign) -> None:
    """`optout list` and a dry run on a damaged SQLite ledger: exit 2, a message naming the
    ledger and what to do, no traceback."""
    ledger = damaged_ledger(tmp_path / "ledger.sqlite")
    damaged = "ledger.sqlite: cannot read the ledger (database disk image is malformed)"
    code, out = optout("list", "--ledger", str(ledger))
    assert code == 2 and damaged in out and "restore it from a backup" in out
    campaign = make_campaign(ledger="ledger.sqlite")
    result = run_cli("run", campaign, "--dry-run", env=cli_env())
    assert result.returncode == 2, result.stderr
    assert damaged in result.stderr and "Traceback" not in result.stderr


def test_which_ledger_the_command_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--ledger, else WOOXY_LEDGER, else the --campaign's ledger, else .wooxy-bulk/ here."""
    monkeypatch.chdir(tmp_path)
    campaign = tmp_path / "c" / "campaign.yaml"
    campaign.parent.mkdir()
    campaign.write_text(
        "name: c\ncontacts: x.csv\nmessage: {text: hi}\ndomain: d\ndefault_region: GB\n"
    )
    assert optout("add", "07400100001", "--campaign", str(campaign))[0] == 0  # its region
    assert (tmp_path / "c" / ".wooxy-bulk" / "ledger.sqlite").exists()
    assert optout("add", C)[0] == 0
    assert (tmp_path / ".wooxy-bulk" / "ledger.sqlite").exists()
    env = {"WOOXY_LEDGER": str(tmp_path / "env.sqlite")}
    assert optout("add", C, "--campaign", str(campaign), env=env)[0] == 0
    assert (tmp_path / "env.sqlite").exists()
    _, out = optout("list", "--campaign", str(campaign))
    assert B in out and C not in out


def write_campaign(folder: Path, name: str, phones: list[str], **extra: object) -> Path:
    """A campaign `name` in `folder` sending to `phones`."""
    contacts = folder / f"{name}.csv"
    contacts.write_text("phone\n" + "\n".join(phones) + "\n", encoding="utf-8")
    data = {
        "name": name,
        "contacts": contacts.name,
        "message": {"text": f"{name}: hello"},
        "domain": "shop.example.com",
        "results": f"{name}-results.csv",
        "api": {"timeout_s": 10},
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def result_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return {r["phone_e164"]: r for r in csv.DictReader(f)}


def test_the_opt_out_list_is_shared_by_two_campaigns(tmp_path: Path, ledger_option: str) -> None:
    """A number opted out once is suppressed in both campaigns of a folder (or of a team's
    PostgreSQL ledger), its error saying since when; sandbox sends skip it."""
    env = cli_env()
    if ledger_option.startswith("postgresql"):
        env["WOOXY_LEDGER"] = ledger_option
        code, _ = optout("add", B, "--ledger", ledger_option)
    else:
        code, _ = optout("add", B, "--ledger", str(tmp_path / ".wooxy-bulk" / "ledger.sqlite"))
    assert code == 0
    for name in ("spring", "autumn"):
        campaign = write_campaign(tmp_path, name, [A, B, C])
        done = run_cli("run", campaign, "--dry-run", env=env)
        assert done.returncode == 0, done.stderr
        rows = result_rows(tmp_path / f"{name}-results.csv")
        assert rows[B]["status"] == "suppressed"
        assert rows[B]["error"].startswith("on the opt-out list since 20")
        assert "(optout add)" in rows[B]["error"]
        assert rows[A]["status"] == rows[C]["status"] == "ready"
    with running_sandbox(SandboxConfig(tokens=("sandbox",))) as box:
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check",
                       env={**env, "WOOXY_API_URL": box.url})  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert sorted(m["phoneNumber"] for m in box.state.messages) == [A, C]


def test_the_cap_holds_across_two_campaigns_sent_at_once(
    tmp_path: Path, ledger_option: str
) -> None:
    """Two campaigns sending to the same 60 numbers at once, cap 1 in 24 h: each number gets
    exactly one message; the other campaign's row is suppressed, naming the campaign."""
    phones = numbers(60)
    env = cli_env()
    env["WOOXY_LEDGER"] = ledger_option
    cap = {"frequency_cap": {"messages": 1, "hours": 24}}
    campaigns = [write_campaign(tmp_path, name, phones, **cap) for name in ("one", "two")]
    with running_sandbox(SandboxConfig(tokens=("sandbox",), latency_ms=15)) as box:
        env["WOOXY_API_URL"] = box.url
        procs = [
            start_cli("run", c, "--yes", "--quiet", "--no-dry-run-check", env=env)
            for c in campaigns
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        sent = sorted(m["phoneNumber"] for m in box.state.messages)
    assert sent == phones  # each number exactly once
    one, two = (result_rows(tmp_path / f"{n}-results.csv") for n in ("one", "two"))
    for phone in phones:
        pair = sorted([one[phone]["status"], two[phone]["status"]])
        assert pair == ["sent", "suppressed"], phone
        loser = one[phone] if one[phone]["status"] == "suppressed" else two[phone]
        other = "two" if loser is one[phone] else "one"
        assert loser["error"] == (
            f"frequency cap: 1 message in the last 24 hours (at most 1), from {other}"
        )
    again = run_cli("run", campaigns[0], "--dry-run", env=env)
    assert again.returncode == 0
    rows = result_rows(tmp_path / "one-results.csv")
    assert {r["status"] for r in rows.values()} <= {"sent", "suppressed"}


def machine(env: dict[str, str], number: int) -> dict[str, str]:
    """`env` as on another machine: a cache folder (the local request slots) of its own."""
    folder = Path(env.get("XDG_CACHE_HOME", "/tmp")) / f"machine-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    return {**env, "XDG_CACHE_HOME": str(folder)}


def test_two_runs_on_one_account_share_ten_requests(tmp_path: Path, ledger_option: str) -> None:
    """Two campaigns sent at once on one API key, 10 workers each, against one sandbox: never
    more than 10 requests in flight together, none refused, every message sent once. With
    PostgreSQL, each run has a cache folder of its own (its own machine's lock files, as on two
    machines): the database alone shares the 10."""
    env = {**cli_env(), "WOOXY_LEDGER": ledger_option}
    postgres = ledger_option.startswith("postgresql")
    campaigns = [
        write_campaign(tmp_path, "left", numbers(120)),
        write_campaign(tmp_path, "right", numbers(120, start=447400200000)),
    ]
    with running_sandbox(SandboxConfig(tokens=("sandbox",), latency_ms=30)) as box:
        env["WOOXY_API_URL"] = box.url
        procs = [
            start_cli("run", c, "--yes", "--quiet", "--no-dry-run-check",
                      env=machine(env, i) if postgres else env)
            for i, c in enumerate(campaigns)
        ]  # fmt: skip
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        stats = box.state.stats()
    assert len(box.state.messages) == 240
    assert stats["throttled"] == 0
    assert 8 <= stats["peak_concurrency"] <= 10


def test_a_killed_runs_slots_are_released(tmp_path: Path, postgres_url: str) -> None:
    """A run killed (SIGKILL) mid-send holds no slot afterwards: the next run on the account,
    sharing the PostgreSQL ledger, sends at full speed."""
    env = {**cli_env(), "WOOXY_LEDGER": postgres_url}
    first = write_campaign(tmp_path, "first", numbers(2000))
    second = write_campaign(tmp_path, "second", numbers(200, start=447400300000))
    with running_sandbox(SandboxConfig(tokens=("sandbox",), latency_ms=40)) as box:
        env["WOOXY_API_URL"] = box.url
        proc = start_cli("run", first, "--yes", "--quiet", "--no-dry-run-check", env=env)
        deadline = time.monotonic() + 60
        while len(box.state.messages) < 50:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        before = len(box.state.messages)
        started = time.monotonic()
        done = run_cli("run", second, "--yes", "--quiet", "--no-dry-run-check",
                       env=machine(env, 2))  # fmt: skip
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert len(box.state.messages) - before == 200
    # 200 messages at 40 ms over 10 slots take ~0.8 s; with slots lost, they would take far
    # longer (or never end).
    assert elapsed < 30


def test_status_takes_its_slots_from_a_postgresql_ledger(tmp_path: Path, postgres_url: str) -> None:
    """`status` on a campaign whose ledger is PostgreSQL asks through the database's slots:
    with another run holding all ten, it waits; once they are free it finishes."""
    import asyncio

    from wooxy_bulk.ledger import request_slots
    from wooxy_bulk.send.scope import origin

    env = {**cli_env(), "WOOXY_LEDGER": postgres_url}
    campaign = write_campaign(tmp_path, "told", numbers(5))
    with running_sandbox(SandboxConfig(tokens=("sandbox",), delivery_delay_s=0)) as box:
        env["WOOXY_API_URL"] = box.url
        done = run_cli("run", campaign, "--yes", "--quiet", "--no-dry-run-check", env=env)
        assert done.returncode == 0, done.stderr

        async def hold_all_then_status() -> tuple[bool, int]:
            slots = request_slots(postgres_url, "sandbox", origin(box.url))
            held = [await slots.acquire() for _ in range(10)]
            proc = await asyncio.create_subprocess_exec(
                *start_args("status", campaign), env=machine(env, 9)
            )
            await asyncio.sleep(2)
            waited = proc.returncode is None
            for index in held:
                await slots.release(index)
            code = await asyncio.wait_for(proc.wait(), 60)
            await slots.aclose()
            return waited, code

        waited, code = asyncio.run(hold_all_then_status())
    assert waited and code == 0
    rows = result_rows(tmp_path / "told-results.csv")
    assert {r["delivery"] for r in rows.values()} == {"delivered"}


def start_args(*args: str | Path) -> list[str]:
    import sys

    return [sys.executable, "-m", "wooxy_bulk", *map(str, args)]
