"""Shared fixtures: campaigns with contacts written into tmp_path, and the CLI as a real process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from benchmarks import postgres

if TYPE_CHECKING:
    from wooxy_bulk.ledger.sqlite import SqliteLedger

# Valid UK mobile numbers (the SPEC's 07700 900xxx range is Ofcom's fictional range, which
# libphonenumber rightly calls invalid).
FIRST_NUMBER = 447400100000


def numbers(count: int, start: int = FIRST_NUMBER) -> list[str]:
    """`count` distinct valid E.164 numbers."""
    return [f"+{start + i}" for i in range(count)]


def damaged_ledger(path: Path) -> Path:
    """A SQLite ledger at `path` holding 3,000 opt-outs and 3,000 sends, then part of its data
    pages overwritten: it opens (its header and schema are intact) and fails when it is read."""
    from datetime import UTC, datetime

    from wooxy_bulk.ledger import OptOut, open_ledger

    ledger = open_ledger(path)
    since = datetime(2026, 3, 2, tzinfo=UTC)
    ledger.add_optouts([OptOut(n, since) for n in numbers(3000, start=447400500000)])
    sends = [(n, f"{i:024x}", since) for i, n in enumerate(numbers(3000, start=447400600000))]
    ledger.record("scope", "spring", sends)
    size = ledger.db.execute("PRAGMA page_size").fetchone()[0]
    ledger.close()
    data = bytearray(path.read_bytes())
    for page in range(3 * size, len(data) - size, 2 * size):
        data[page : page + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    return path


def fill_disk(ledger: SqliteLedger, spare_pages: int = 0) -> int:
    """Let a SQLite ledger grow by `spare_pages` pages at most, after which SQLite reports its
    own "database or disk is full"; returns the pages it has now."""
    pages = ledger.db.execute("PRAGMA page_count").fetchone()[0]
    ledger.db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")
    return pages


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A new self-signed certificate for 127.0.0.1 and its key, in `folder` (skips without the
    openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    command += " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


def sized(body: bytes, *extra: bytes) -> bytes:
    """An HTTP/1.1 200 answer with a JSON `body`, its Content-Length and `extra` header lines."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"".join(extra)
    return head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


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


# A Tuesday afternoon in London, when every send window of the samples is open (Paris 17:00,
# San Francisco 09:00): CLI runs start their clock here, never at the machine's time.
OPEN_INSTANT = "2026-03-10T16:00:00+00:00"


def cli_env(
    api_url: str | None = None, key: str | None = "sandbox", now: str | None = OPEN_INSTANT
) -> dict[str, str]:
    """The environment of a CLI run: no inherited Wooxy settings, then the ones given (`now`: the
    instant the run's clock starts from)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WOOXY_")}
    if now is not None:
        env["WOOXY_TEST_NOW"] = now
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


@pytest.fixture(autouse=True, scope="session")
def _slots_in_a_temporary_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The request slots' lock files (slots.py) go to a temporary XDG_CACHE_HOME, for the tests
    and the CLI processes they start, never to the user's ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


# A real PostgreSQL server for the ledger's tests (benchmarks/postgres.py), started once per
# session; each test that asks for `postgres_url` gets a new database on it.
POSTGRES_PASSWORD = postgres.PASSWORD


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.Server]:
    """A throw-away PostgreSQL cluster (skips only where no server binary exists)."""
    try:
        with postgres.throwaway_server() as server:
            yield server
    except postgres.Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def postgres_url(postgres_server: postgres.Server) -> Iterator[str]:
    """The URL (with its password) of a new, empty database on the session's server."""
    url = postgres_server.create()
    yield url
    postgres_server.drop(url)
