"""The journal through `wooxy-bulk run`: URL spellings, lost, corrupt and full journals, power cuts,
and the results sheets of dry runs and rehearsals."""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from conftest import MakeCampaign, cli_env, numbers, run_cli
from test_cli_run import accepted, results, signal_mid_run, statuses, wait_for

from wooxy_bulk.sandbox import SandboxConfig, running_sandbox
from wooxy_bulk.send.journal import Journal, JState
from wooxy_bulk.send.scope import scope

SEND = ("--yes", "--quiet", "--no-dry-run-check")
JOURNAL = Path(".wooxy-bulk") / "test.journal.sqlite"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def sheet_sent(path: Path) -> dict[str, str]:
    """phone → sms_id of the rows a results sheet (CSV or XLSX) records as sent."""
    if path.suffix == ".csv":
        rows = results(path)
    else:
        table = list(openpyxl.load_workbook(path)["Results"].iter_rows(values_only=True))
        rows = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    return {r["phone_e164"]: r["sms_id"] for r in rows if r["status"] == "sent"}


def no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stdout + done.stderr


def test_another_spelling_of_the_server_sends_nobody_twice(make_campaign: MakeCampaign) -> None:
    """127.0.0.1, then localhost with a trailing slash: one server, one scope, nothing resent."""
    campaign = make_campaign(30)
    with running_sandbox(SandboxConfig()) as box:
        port = box.url.split(":")[-1].split("/")[0]
        first = run_cli("run", campaign, *SEND, env=cli_env(f"http://127.0.0.1:{port}/v3"))
        again = run_cli("run", campaign, *SEND, env=cli_env(f"http://LocalHost:{port}/v3/"))
        sent = accepted(box)
    assert (first.returncode, again.returncode) == (0, 0), again.stderr
    assert sent == Counter(numbers(30))
    assert "Sent nothing in this run" in again.stdout


def _journal_with_sends(folder: Path, url: str, count: int) -> None:
    with Journal(folder / JOURNAL, scope(url), clock=lambda: NOW) as journal:
        journal.record_sent((p, i + 2, f"{i:024x}", "Hi") for i, p in enumerate(numbers(count)))


@pytest.mark.parametrize(
    ("args", "code"), [((*SEND,), 2), (("--dry-run",), 2), (("--dry-run", "--new-api-url"), 0)]
)
def test_a_real_api_url_other_than_the_journals_stops_before_sending(
    make_campaign: MakeCampaign, args: tuple[str, ...], code: int
) -> None:
    """Sends journaled under one real API URL stop a run to another (exit 2, naming the URL and
    count) unless --new-api-url says it is another service. (Documentation addresses: never
    reached.)"""
    campaign = make_campaign(10, api={"url": "https://192.0.2.10/v3", "timeout_s": 1})
    _journal_with_sends(campaign.parent, "https://198.51.100.7/v3/", 7)
    done = run_cli("run", campaign, *args, env=cli_env())
    assert done.returncode == code, done.stderr
    no_traceback(done)
    if code == 2:
        assert "the journal has 7 messages sent through https://198.51.100.7:443/v3" in done.stderr
        assert "add --new-api-url" in done.stderr


def _delete_folder(campaign: Path) -> Path:
    shutil.rmtree(campaign.parent / ".wooxy-bulk")
    return campaign


def _empty_file(campaign: Path) -> Path:
    journal = campaign.parent / JOURNAL
    for extra in journal.parent.glob(journal.name + "-*"):
        extra.unlink()
    journal.write_bytes(b"")
    return campaign


def _copy_without_it(campaign: Path) -> Path:
    copy = campaign.parent / "copy"
    copy.mkdir()
    for name in ("campaign.yaml", "contacts.csv", "results.csv", "results.xlsx"):
        if (campaign.parent / name).exists():
            shutil.copy(campaign.parent / name, copy / name)
    return copy / "campaign.yaml"


@pytest.mark.parametrize("results_name", ["results.csv", "results.xlsx"])
@pytest.mark.parametrize("lose", [_delete_folder, _empty_file, _copy_without_it])
def test_a_lost_journal_stops_and_is_rebuilt_from_the_results(
    make_campaign: MakeCampaign, results_name: str, lose: Callable[[Path], Path]
) -> None:
    """After a send, a deleted, emptied or left-behind journal stops the next run before sending
    (exit 2, saying so); --journal-from-results rebuilds it from the sheet: nobody sent twice."""
    campaign = make_campaign(25, results=results_name)
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, "--limit", "20", *SEND, env=env).returncode == 0
        ids = sheet_sent(campaign.parent / results_name)
        campaign = lose(campaign)
        stopped = run_cli("run", campaign, *SEND, env=env)
        dry = run_cli("run", campaign, "--dry-run", env=env)
        rebuilt = run_cli("run", campaign, "--journal-from-results", *SEND, env=env)
        sent = accepted(box)
    assert stopped.returncode == 2 and dry.returncode == 2, stopped.stderr
    for done in (stopped, dry):
        no_traceback(done)
        assert f"{results_name}: the results sheet records 20 sent messages" in done.stderr
        assert "Add --journal-from-results" in done.stderr
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (
        "Rebuilt the journal from" in rebuilt.stdout and "20 messages sent before" in rebuilt.stdout
    )
    assert sent == Counter(numbers(25))  # the 5 left, once; the 20 never again
    final = sheet_sent(campaign.parent / results_name)
    assert len(final) == 25 and all(final[p] == sms_id for p, sms_id in ids.items())


def test_a_corrupt_journal_is_exit_2_with_a_message(make_campaign: MakeCampaign) -> None:
    """Garbage in the journal: exit 2 naming it, no traceback, nothing sent; with
    --journal-from-results it is set aside and rebuilt from the sheet."""
    campaign = make_campaign(12)
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, "--limit", "8", *SEND, env=env).returncode == 0
        journal = campaign.parent / JOURNAL
        data = bytearray(journal.read_bytes())
        data[100:4000] = b"\xde\xad\xbe\xef" * 975
        journal.write_bytes(bytes(data))
        for extra in journal.parent.glob(journal.name + "-*"):
            extra.write_bytes(b"garbage " * 512)
        done = run_cli("run", campaign, *SEND, env=env)
        dry = run_cli("run", campaign, "--dry-run", env=env)
        rebuilt = run_cli("run", campaign, "--journal-from-results", *SEND, env=env)
        sent = accepted(box)
    for failed in (done, dry):
        assert failed.returncode == 2, failed.stderr
        no_traceback(failed)
        assert failed.stderr.startswith("Error: ")
        assert "test.journal.sqlite: is not a wooxy-bulk journal" in failed.stderr
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sent == Counter(numbers(12))
    assert (journal.parent / "test.journal.sqlite.unreadable").exists()


class FullDisk:
    """A journal whose disk fills up: a 320 KiB tmpfs at .wooxy-bulk (needs root to mount), or,
    anywhere, a file-size limit (RLIMIT_FSIZE) on the CLI process."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.mount = kind, folder / ".wooxy-bulk"
        if kind == "tmpfs":
            self.mount.mkdir()
            made = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", str(self.mount)],
                capture_output=True,
            )
            if made.returncode != 0:
                pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")

    def run(self, campaign: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
        """`run` with the disk full, as the journal grows."""
        return subprocess.run(
            [sys.executable, "-m", "wooxy_bulk", "run", str(campaign), *SEND],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=self._limit if self.kind == "rlimit" else None,
        )

    @staticmethod
    def _limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (320 * 1024, 320 * 1024))

    def make_room(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["mount", "-o", "remount,size=16m", str(self.mount)], check=True)

    def close(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.mount)], check=False)


@pytest.fixture(params=["tmpfs", "rlimit"])
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    disk = FullDisk(request.param, tmp_path)
    try:
        yield disk
    finally:
        disk.close()


def test_a_full_disk_stops_at_once_and_loses_no_answer(
    make_campaign: MakeCampaign, full_disk: FullDisk
) -> None:
    """The journal's disk fills up mid-run: exit 3 naming the journal, no traceback; every
    request that went out has its record, every answer reaches the sheet as sent with its
    sms_id; with space again, --journal-from-results finishes without sending anyone twice."""
    campaign = make_campaign(1200, ledger="ledger.sqlite")  # the ledger on another disk
    out = campaign.parent / "results.csv"
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        full = full_disk.run(campaign, env)
        first = {m["phoneNumber"]: m["sms_id"] for m in box.state.messages}
        in_the_sheet = sheet_sent(out)
        with Journal(campaign.parent / JOURNAL, scope(box.url), clock=lambda: NOW) as journal:
            journaled = journal.entries()
        full_disk.make_room()
        again = run_cli("run", campaign, *SEND, env=env)
        rebuilt = run_cli("run", campaign, "--journal-from-results", *SEND, env=env)
        sent = accepted(box)
    assert full.returncode == 3, full.stderr
    no_traceback(full)
    assert "test.journal.sqlite: cannot write the journal (" in full.stderr
    assert "--journal-from-results" in full.stderr
    assert 0 < len(first) < 1200
    assert set(first) <= set(journaled)  # nothing went out without its record
    assert in_the_sheet == first  # the answers to the requests in flight too
    assert again.returncode == 2 and "does not have" in again.stderr, again.stderr
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sent == Counter(numbers(1200))
    assert {e.state for e in journaled.values()} <= {JState.SENT, JState.IN_FLIGHT, JState.NOT_SENT}


SHIM = Path(__file__).parent / "data" / "durable_shim.c"


def _restore_as_synced(campaign: Path, durable: Path) -> None:
    """The journal folder as a power cut leaves it: each file as at its last sync."""
    folder = campaign.parent / ".wooxy-bulk"
    for name in ("test.journal.sqlite", "test.journal.sqlite-wal", "test.journal.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
        if (durable / name).exists() and not name.endswith("-shm"):
            shutil.copy(durable / name, folder / name)


def test_a_power_cut_sends_nobody_twice(make_campaign: MakeCampaign, tmp_path: Path) -> None:
    """Every sync of the journal is copied (an LD_PRELOAD shim on fsync/fdatasync); the run is
    killed mid-send, the journal put back as at its last syncs, and a re-run resends nobody."""
    if shutil.which("cc") is None:
        pytest.skip("needs a C compiler for the fsync shim")
    shim = tmp_path / "shim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", shim, SHIM, "-ldl"], check=True)
    durable = tmp_path / "durable"
    durable.mkdir()
    campaign = make_campaign(400)
    with running_sandbox(SandboxConfig(latency_ms=20)) as box:
        env = cli_env(api_url=box.url)
        traced = {
            **env,
            "LD_PRELOAD": str(shim),
            "DURABLE_DIR": str(durable),
            "DURABLE_MATCH": ".journal.sqlite",
        }
        proc = signal_mid_run(campaign, box, signal.SIGKILL, env=traced, after=150)
        proc.wait(timeout=30)
        wait_for(lambda: box.state.stats()["in_flight"] == 0)
        _restore_as_synced(campaign, durable)
        done = run_cli("run", campaign, *SEND, env=env)
        sent = accepted(box)
    assert done.returncode in (0, 1), done.stderr  # 1: requests in flight at the cut are unknown
    assert max(sent.values()) == 1  # nobody twice
    counts = statuses(campaign.parent / "results.csv")
    assert counts["sent"] + counts["unknown"] == 400 and counts["unknown"] <= 10


def test_a_dry_run_after_a_send_keeps_the_sent_rows(make_campaign: MakeCampaign) -> None:
    """--dry-run after a real send writes sent rows with their sms_id, the others ready."""
    campaign = make_campaign(10)
    out = campaign.parent / "results.csv"
    with running_sandbox(SandboxConfig()) as box:
        env = cli_env(api_url=box.url)
        assert run_cli("run", campaign, "--limit", "6", *SEND, env=env).returncode == 0
        ids = sheet_sent(out)
        dry = run_cli("run", campaign, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert statuses(out) == {"sent": 6, "ready": 4}
    assert sheet_sent(out) == ids and len(ids) == 6
    assert "Ready to send:   4" in dry.stdout


def test_a_sandbox_rehearsal_writes_its_own_results(make_campaign: MakeCampaign) -> None:
    """--sandbox writes results-sandbox.csv beside the results; the real sheet is untouched."""
    campaign = make_campaign(5)
    real = campaign.parent / "results.csv"
    real.write_text("the real results\n")
    done = run_cli("run", campaign, "--sandbox", "--quiet", env=cli_env(key=None))
    assert done.returncode == 0, done.stderr
    assert real.read_text() == "the real results\n"
    assert statuses(campaign.parent / "results-sandbox.csv") == {"sent": 5}
    assert "results-sandbox.csv" in done.stdout
