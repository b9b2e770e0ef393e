"""Shared fixtures: campaigns with contacts written into tmp_path, and the CLI as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

# Valid UK mobile numbers (the SPEC's 07700 900xxx range is Ofcom's fictional range, which
# libphonenumber rightly calls invalid).
FIRST_NUMBER = 447400100000


def numbers(count: int, start: int = FIRST_NUMBER) -> list[str]:
    """`count` distinct valid E.164 numbers."""
    return [f"+{start + i}" for i in range(count)]


MakeCampaign = Callable[..., Path]


@pytest.fixture
def make_campaign(tmp_path: Path) -> MakeCampaign:
    """Write contacts.csv with `rows` numbers and a campaign.yaml; return the campaign's path."""

    def make(rows: int = 20, *, contacts: str | None = None, **changes: object) -> Path:
        if contacts is None:
            lines = [f"{n},Name{i}" for i, n in enumerate(numbers(rows))]
            contacts = "phone,first_name\n" + "\n".join(lines) + "\n"
        (tmp_path / "contacts.csv").write_text(contacts, encoding="utf-8")
        data: dict[str, object] = {
            "name": "test",
            "contacts": "contacts.csv",
            "default_region": "GB",
            "message": {"text": 'Hi {{ first_name | default("there") }}, spring sale!'},
            "domain": "shop.example.com",
            "from_name": "Shop",
            "tags": ["spring"],
            "results": "results.csv",
            "api": {"url": "http://127.0.0.1:9/v3", "timeout_s": 5},
        }
        data.update(changes)
        path = tmp_path / "campaign.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return make


def cli_env(api_url: str | None = None, key: str | None = "sandbox") -> dict[str, str]:
    """The environment of a CLI run: no inherited Wooxy settings, then the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOOXY_")}
    if api_url is not None:
        env["WOOXY_API_URL"] = api_url
    if key is not None:
        env["WOOXY_API_KEY"] = key
    return env


def start_cli(*args: str | Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
    """`wooxy-bulk ARGS` as a real process (so signals and exit codes are real)."""
    return subprocess.Popen(
        [sys.executable, "-m", "wooxy_bulk", *map(str, args)],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    *args: str | Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `wooxy-bulk ARGS` to its end."""
    proc = start_cli(*args, env=env)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
