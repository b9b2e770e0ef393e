"""`wooxy-bulk run`: the results file is checked before the first message (name, place, size)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import MakeCampaign, cli_env, run_cli

from wooxy_bulk import results
from wooxy_bulk.cli import main
from wooxy_bulk.sandbox import SandboxConfig, running_sandbox


def blocked(folder: Path) -> Path:
    """A results path that cannot be written: its folder would have to be inside a file."""
    (folder / "notes.txt").write_text("not a folder", encoding="utf-8")
    return folder / "notes.txt" / "out.xlsx"


@pytest.mark.parametrize("mode", ["--yes", "--dry-run"])
def test_an_unwritable_results_file_stops_before_the_first_message(
    make_campaign: MakeCampaign, mode: str
) -> None:
    """Results that cannot be written: exit 2 naming the file, before anything is sent."""
    campaign = make_campaign(5, results="notes.txt/out.xlsx")
    blocked(campaign.parent)
    with running_sandbox(SandboxConfig(tokens=("sandbox",))) as box:
        done = run_cli("run", campaign, mode, "--quiet", "--no-dry-run-check", env=cli_env(box.url))
        sent = len(box.state.messages)
    assert done.returncode == 2, done.stderr
    assert "notes.txt/out.xlsx: the results cannot be written here (" in done.stderr
    assert "pick another file with --results" in done.stderr
    assert sent == 0
    assert not (campaign.parent / ".wooxy-bulk" / "test.journal.sqlite").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_results_folder_stops_before_the_first_message(
    make_campaign: MakeCampaign,
) -> None:
    """A results folder without write permission: exit 2 naming the file."""
    campaign = make_campaign(5, results="locked/out.csv")
    locked = campaign.parent / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = run_cli("run", campaign, "--dry-run", env=cli_env(key=None))
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2, done.stderr
    assert "locked/out.csv: the results cannot be written here (Permission denied)" in done.stderr


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("out.txt", "--results: the results file must end in .xlsx or .csv ('out.txt')"),
        ("reports", "--results: the results file must end in .xlsx or .csv ('reports')"),
        ("old.xlsx", "old.xlsx: is a folder: give a results file name ending in .xlsx or .csv"),
    ],
)
def test_results_option_follows_the_rules_of_the_results_key(
    make_campaign: MakeCampaign, given: str, expected: str
) -> None:
    """`--results` must name an .xlsx or .csv file, like the results key; a folder is refused."""
    campaign = make_campaign(5)
    (campaign.parent / "reports").mkdir()
    (campaign.parent / "old.xlsx").mkdir()
    done = run_cli(
        "run", campaign, "--dry-run", "--results", campaign.parent / given, env=cli_env(key=None)
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert not (campaign.parent / "out.txt").exists()


@pytest.mark.parametrize(("name", "code"), [("big.xlsx", 2), ("big.csv", 0)])
def test_more_rows_than_an_xlsx_sheet_holds_need_csv_results(
    make_campaign: MakeCampaign, monkeypatch: pytest.MonkeyPatch, name: str, code: int
) -> None:
    """Past the XLSX row limit (patched small here): .xlsx results refused with advice, .csv ok."""
    monkeypatch.setattr(results, "XLSX_MAX_ROWS", 5)  # the header and 4 rows
    campaign = make_campaign(5, results=name)
    done = CliRunner().invoke(main, ["run", str(campaign), "--dry-run"], env=cli_env(key=None))
    assert done.exit_code == code, done.output
    if code:
        assert f"{name}: 5 rows do not fit in an XLSX sheet (at most 4 below the header):" in (
            done.output
        )
        assert "write the results as .csv" in done.output
    assert (campaign.parent / name).exists() == (code == 0)
