"""The dry-run record: a real send needs a dry run of the same plan, unchanged since."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from wooxy_bulk import dryrun
from wooxy_bulk.campaign import load_campaign
from wooxy_bulk.errors import InputError

AT = datetime(2026, 3, 2, 10, 41, 7, tzinfo=UTC)


@pytest.fixture
def campaign_file(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text("phone\n+447400100000\n", encoding="utf-8")
    (tmp_path / "msg.txt.j2").write_text("Hello\n", encoding="utf-8")
    (tmp_path / "optout.csv").write_text("phone\n+447400100001\n", encoding="utf-8")
    path = tmp_path / "campaign.yaml"
    path.write_text(
        "name: t\ncontacts: contacts.csv\nmessage: {template: msg.txt.j2}\n"
        "domain: d.example\nsuppress: [optout.csv]\n",
        encoding="utf-8",
    )
    return path


def test_a_send_without_any_dry_run_is_refused(campaign_file: Path) -> None:
    """No record: the message says to run --dry-run first, and how to skip the check."""
    with pytest.raises(InputError) as caught:
        dryrun.check(load_campaign(campaign_file))
    message = str(caught.value)
    assert "no dry run of this campaign yet" in message
    assert "--dry-run" in message and "--no-dry-run-check" in message


def test_an_unchanged_plan_passes_again_and_again(campaign_file: Path) -> None:
    """After a dry run, the check passes, and still passes for a resumed run."""
    campaign = load_campaign(campaign_file)
    dryrun.record(campaign, AT)
    dryrun.check(campaign)
    dryrun.check(load_campaign(campaign_file))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: (d / "contacts.csv").write_text("phone\n+447400100009\n"),
            "contacts.csv changed",
        ),
        (lambda d: (d / "msg.txt.j2").write_text("Hello again\n"), "msg.txt.j2 changed"),
        (lambda d: (d / "optout.csv").write_text("phone\n"), "optout.csv changed"),
        (lambda d: (d / "optout.csv").unlink(), "optout.csv is gone"),
        (
            lambda d: (d / "campaign.yaml").write_text(
                (d / "campaign.yaml").read_text() + "max_segments: 2\n"
            ),
            "campaign.yaml changed",
        ),
    ],
)
def test_each_change_since_the_dry_run_is_named_with_its_time(
    campaign_file: Path, change: object, expected: str
) -> None:
    """Each changed plan file is named, with the time of the dry run it differs from."""
    dryrun.record(load_campaign(campaign_file), AT)
    change(campaign_file.parent)  # type: ignore[operator]
    with pytest.raises(InputError) as caught:
        dryrun.check(load_campaign(campaign_file))
    assert f"{expected} since the dry run at 2026-03-02 10:41 UTC" in str(caught.value)


def test_a_suppression_file_added_or_removed_is_named(campaign_file: Path) -> None:
    """A suppression file added to the campaign after the dry run is a change."""
    dryrun.record(load_campaign(campaign_file), AT)
    (campaign_file.parent / "more.csv").write_text("phone\n+447400100002\n")
    text = campaign_file.read_text().replace("[optout.csv]", "[optout.csv, more.csv]")
    campaign_file.write_text(text)
    with pytest.raises(InputError) as caught:
        dryrun.check(load_campaign(campaign_file))
    assert "more.csv was added" in str(caught.value)
    campaign_file.write_text(text.replace("[optout.csv, more.csv]", "[]"))
    dryrun.record(load_campaign(campaign_file), AT)
    campaign_file.write_text(text)
    with pytest.raises(InputError, match=r"optout\.csv was added, more\.csv was added"):
        dryrun.check(load_campaign(campaign_file))


def test_an_unreadable_record_asks_for_a_new_dry_run(campaign_file: Path) -> None:
    """A damaged record is not a traceback: it asks for a new dry run."""
    campaign = load_campaign(campaign_file)
    dryrun.record(campaign, AT)
    dryrun.record_path(campaign).write_text("{not json")
    with pytest.raises(InputError, match=r"cannot be read: run .* --dry-run. again"):
        dryrun.check(campaign)
