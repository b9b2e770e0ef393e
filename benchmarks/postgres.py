"""A throw-away PostgreSQL server, for the ledger's tests and benchmarks: a new cluster in a
temporary folder, on a free port of 127.0.0.1, with a password for TCP connections.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user (the folder
is handed to it). Debian's postgresql-NN packages put the binaries in /usr/lib/postgresql/NN/bin.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "pg-secret-4711"
_DEBIAN = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


class Unavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or no user to run them as)."""


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else Debian's."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    return next((d for d in _DEBIAN if (d / "pg_ctl").exists() and (d / "initdb").exists()), None)


@dataclass(frozen=True)
class Server:
    """A running cluster: `create()` makes a new database and gives its URL."""

    port: int
    admin: str  # a conninfo over the unix socket, as the superuser

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{dbname}"

    def create(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_server() -> Iterator[Server]:
    """Start a cluster for the time of the `with`; stop it and delete its folder after."""
    bindir = binaries()
    if bindir is None:
        raise Unavailable("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    folder = Path(tempfile.mkdtemp(prefix="wooxy-pg-"))
    as_user: list[str] = []
    try:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no postgres user") from None
            as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(folder, "postgres")
        secret = folder / "pw"
        secret.write_text(PASSWORD)
        if as_user:
            shutil.chown(secret, "postgres")
        data = folder / "data"
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--no-sync",
             f"--pwfile={secret}", "--auth-host=scram-sha-256", "--auth-local=trust"],
            check=True, capture_output=True,
        )  # fmt: skip
        port = _free_port()
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(folder / "server.log"), "-w", "-t", "60", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            yield Server(port, f"host={folder} port={port} user=postgres dbname=postgres")
        finally:
            subprocess.run(
                [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
