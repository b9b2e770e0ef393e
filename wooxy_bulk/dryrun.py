"""Dry run first: a real send needs a dry run of the same plan, unchanged since.

`--dry-run` records a digest of each file the plan is made of (the campaign file, the contacts,
the template, the suppression files) beside the journal; a real send compares them and stops,
naming what changed, so nobody sends a campaign whose texts and recipients they have not seen.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from .campaign import Campaign
from .errors import InputError, display_path, located

_CHUNK = 1 << 20
_SKIP = "add --no-dry-run-check to send without one"


def record_path(campaign: Campaign) -> Path:
    return campaign.journal_path.with_name(f"{campaign.name}.dry-run.json")


def plan_files(campaign: Campaign) -> dict[str, Path]:
    """The files a plan is made of, by the name a message uses for them (the file's name)."""
    paths = [campaign.source, campaign.contacts]
    if campaign.message.template is not None:
        paths.append(campaign.message.template)
    paths += campaign.suppress
    names = [path.name for path in paths]
    return {
        name if names.count(name) == 1 else display_path(path): path
        for name, path in zip(names, paths, strict=True)
    }


def digests(campaign: Campaign) -> dict[str, str]:
    """SHA-256 of each plan file's bytes ("missing" for a file that is gone)."""
    return {label: _digest(path) for label, path in plan_files(campaign).items()}


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                sha.update(chunk)
    except OSError:
        return "missing"
    return sha.hexdigest()


def record(campaign: Campaign, now: datetime) -> None:
    """Remember the plan this dry run showed (written atomically)."""
    path = record_path(campaign)
    data = {"at": now.astimezone(UTC).isoformat(), "files": digests(campaign)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise located(path, f"cannot record the dry run ({exc.strerror})") from None


def check(campaign: Campaign) -> None:
    """Raise InputError unless the last dry run saw exactly the files the plan is made of now."""
    path = record_path(campaign)
    source = display_path(campaign.source)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        at = datetime.fromisoformat(data["at"])
        seen: dict[str, str] = dict(data["files"])
    except FileNotFoundError:
        raise InputError(
            f"{source}: no dry run of this campaign yet: see what it will send with"
            f" `wooxy-bulk run {source} --dry-run` first ({_SKIP})"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            f"{display_path(path)}: the record of the last dry run cannot be read: run"
            f" `wooxy-bulk run {source} --dry-run` again ({_SKIP})"
        ) from None
    changed = _changes(seen, digests(campaign))
    if changed:
        when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise InputError(
            f"{source}: {', '.join(changed)} since the dry run at {when}: see the new plan with"
            f" `wooxy-bulk run {source} --dry-run` ({_SKIP})"
        )


def _changes(seen: dict[str, str], now: dict[str, str]) -> list[str]:
    changes = []
    for label, digest in now.items():
        if label not in seen:
            changes.append(f"{label} was added")
        elif digest == "missing" != seen[label]:
            changes.append(f"{label} is gone")
        elif seen[label] != digest:
            changes.append(f"{label} changed")
    changes += [f"{label} was removed" for label in seen if label not in now]
    return changes
