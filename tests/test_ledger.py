"""The ledger's two backends, SQLite and a real PostgreSQL server, through one interface."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import damaged_ledger, fill_disk

from wooxy_bulk.errors import InputError
from wooxy_bulk.ledger import Cap, OptOut, choose, open_ledger, optout_error
from wooxy_bulk.ledger.common import LedgerError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
A, B, C = "+447400100001", "+447400100002", "+447400100003"


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A new, empty ledger: a SQLite file, or a database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / ".wooxy-bulk" / "ledger.sqlite"
    return request.getfixturevalue("postgres_url")


def clock_at(moment: datetime):
    return lambda: moment


def test_optouts_are_kept_with_when_why_and_how(location: str | Path) -> None:
    """Opt-outs survive reopening, keep their first date, and removing takes them off."""
    ledger = open_ledger(location)
    added = ledger.add_optouts(
        [OptOut(A, NOW, "replied STOP", "optout add"), OptOut(B, NOW, "", "optout.csv")]
    )
    assert added == 2
    assert ledger.add_optouts([OptOut(A, NOW + timedelta(days=1), "again", "x")]) == 0
    ledger.close()
    ledger = open_ledger(location)
    found = ledger.optouts()
    assert found[A] == OptOut(A, NOW, "replied STOP", "optout add")
    assert optout_error(found[A]) == (
        "on the opt-out list since 2026-03-02 12:00 UTC (optout add): replied STOP"
    )
    assert ledger.remove_optouts([A, C]) == 1
    assert set(ledger.optouts()) == {B}
    ledger.close()


def send(location: str | Path, campaign: str, phones: list[str], at: datetime, cap: Cap | None):
    """Send `phones` for `campaign` through the send path; the errors of those over the cap."""

    async def main() -> dict[str, str]:
        ledger = open_ledger(location)
        sending = ledger.for_sending("scope", campaign, cap, clock_at(at))
        refused = {}
        for start in range(0, len(phones), 7):  # in batches, as the sender reserves them
            batch = phones[start : start + 7]
            refused.update(await sending.reserve(batch))
            for phone in batch:
                if phone not in refused:
                    sending.outcome(phone, "sent", f"{campaign}{phone}{at:%H%M}")
        await sending.aclose()
        ledger.close()
        return refused

    return asyncio.run(main())


def test_the_cap_counts_every_campaign_within_the_hours(location: str | Path) -> None:
    """Sends from two campaigns count together; older ones than `hours` do not; the plan's bulk
    check and the send-time check agree."""
    cap = Cap(messages=2, hours=24)
    send(location, "spring", [A, B], NOW - timedelta(hours=30), None)  # too old to count
    send(location, "spring", [A, B], NOW - timedelta(hours=5), None)
    send(location, "autumn", [A], NOW - timedelta(hours=1), None)
    ledger = open_ledger(location)
    expected = "frequency cap: 2 messages in the last 24 hours (at most 2), from autumn, spring"
    assert ledger.over_cap("scope", cap, NOW) == {A: expected}
    assert ledger.over_cap("other-scope", cap, NOW) == {}
    assert ledger.count("scope", "spring") == 4
    ledger.close()
    refused = send(location, "winter", [A, B, C], NOW, cap)
    assert refused == {A: expected}
    ledger = open_ledger(location)
    assert set(ledger.over_cap("scope", cap, NOW)) == {A, B}  # B's second message: winter
    ledger.close()


def test_a_failed_message_releases_its_reservation(location: str | Path) -> None:
    """A reserved row counts at once; failed releases it, unknown keeps it (maybe delivered);
    a reservation never sent is released at the end."""
    cap = Cap(messages=1, hours=1)

    async def main() -> list[dict[str, str]]:
        ledger = open_ledger(location)
        sending = ledger.for_sending("scope", "c", cap, clock_at(NOW))
        results = [await sending.reserve([A]), await sending.reserve([A])]
        sending.outcome(A, "failed")
        results.append(await sending.reserve([A]))
        sending.outcome(A, "unknown")
        results.append(await sending.reserve([A, B]))
        await sending.aclose()  # B was reserved, never sent
        sending = ledger.for_sending("scope", "c", cap, clock_at(NOW))
        results.append(await sending.reserve([B]))
        await sending.aclose()
        ledger.close()
        return results

    first, while_pending, after_failure, after_unknown, unsent = asyncio.run(main())
    assert first == after_failure == unsent == {}
    assert set(while_pending) == set(after_unknown) == {A}
    assert "1 message in the last 1 hour" in after_unknown[A]


def _reserve_many(location: str | Path, campaign: str, phones: list[str], start, out) -> None:
    start.wait()
    out.put(send(location, campaign, phones, NOW, Cap(messages=1, hours=24)))


def test_two_processes_cannot_both_pass_the_cap(location: str | Path) -> None:
    """Two processes reserving the same numbers at once: each number goes to exactly one."""
    open_ledger(location).close()
    phones = [f"+4474001{i:05d}" for i in range(150)]
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    procs = [
        context.Process(target=_reserve_many, args=(location, name, phones, start, out))
        for name in ("one", "two")
    ]
    for proc in procs:
        proc.start()
    start.set()
    refused = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert sorted(set(refused[0]) | set(refused[1])) == phones
    assert not set(refused[0]) & set(refused[1])


def _open_each(paths: list[Path], barrier, out) -> None:
    errors = []
    for path in paths:
        barrier.wait()  # every process opens this new file at the same moment
        try:
            open_ledger(path).close()
        except InputError as exc:
            errors.append(str(exc))
    out.put(errors)


def test_campaigns_started_at_once_can_all_open_a_new_ledger(tmp_path: Path) -> None:
    """Four processes open each of 20 new SQLite ledgers at the same moment: none is refused
    as locked (two campaigns started together share a ledger that does not exist yet)."""
    paths = [tmp_path / f"ledger-{i}.sqlite" for i in range(20)]
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(4), context.Queue()
    procs = [context.Process(target=_open_each, args=(paths, barrier, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    errors = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert errors == [[], [], [], []]


def test_schema_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    """A ledger from a newer wooxy-bulk is an error naming the file, not a crash."""
    import sqlite3

    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="schema version 99, newer"):
        open_ledger(path)


def test_a_file_that_is_no_ledger_is_refused(tmp_path: Path) -> None:
    """A file that is not SQLite is an input error naming it."""
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="is not a wooxy-bulk ledger"):
        open_ledger(path)


def test_a_damaged_ledger_is_an_error_naming_it_on_every_read(tmp_path: Path) -> None:
    """A ledger whose pages are damaged opens, then every read is an InputError (exit 2) that
    names it and says what to do, not a traceback."""
    ledger = open_ledger(damaged_ledger(tmp_path / "ledger.sqlite"))
    damaged = (
        r"ledger\.sqlite: cannot read the ledger \(database disk image is malformed\);"
        " restore it from a backup, or move it away to start an empty one"
    )
    for read in (
        ledger.optouts,
        lambda: ledger.over_cap("scope", Cap(1, 24), NOW),
        lambda: ledger.count("scope", "spring"),
    ):
        with pytest.raises(InputError, match=damaged):
            read()
    ledger.close()


def test_a_password_never_appears_in_errors(postgres_server, monkeypatch) -> None:
    """A wrong password, in the URL or PGPASSWORD, is never printed; the URL shows without it."""
    url = f"postgresql://postgres:Wr0ng%2Fpass@127.0.0.1:{postgres_server.port}/postgres"
    with pytest.raises(InputError) as caught:
        open_ledger(url)
    text = str(caught.value)
    assert "Wr0ng" not in text and "pass" not in text.replace("password", "")
    assert f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres" in text
    monkeypatch.setenv("PGPASSWORD", "an0ther-secret")
    with pytest.raises(InputError) as caught:
        open_ledger(f"postgresql://postgres@127.0.0.1:{postgres_server.port}/nosuchdb")
    assert "an0ther-secret" not in str(caught.value)
    assert "nosuchdb" in str(caught.value)


def test_pgpassword_is_used(postgres_server, postgres_url, monkeypatch) -> None:
    """libpq's variables work: a URL without a password connects with PGPASSWORD."""
    from conftest import POSTGRES_PASSWORD

    monkeypatch.setenv("PGPASSWORD", POSTGRES_PASSWORD)
    ledger = open_ledger(postgres_url.replace(f":{POSTGRES_PASSWORD}@", "@"))
    assert ledger.optouts() == {}
    assert POSTGRES_PASSWORD not in ledger.location
    ledger.close()


def test_a_ledger_written_by_the_send_path_stops_the_run_when_unwritable(tmp_path: Path) -> None:
    """A ledger that cannot be written during a run is a LedgerError (exit 3), naming it."""
    ledger = open_ledger(tmp_path / "ledger.sqlite")
    ledger.db.execute("PRAGMA query_only = 1")
    with pytest.raises(LedgerError, match=r"ledger\.sqlite: cannot write the ledger"):
        ledger.add_optouts([OptOut(A, NOW)])


def _fill(ledger, phones: list[str]) -> None:
    """Opt out `phones` through the CLI's path."""
    ledger.add_optouts([OptOut(p, NOW) for p in phones])


def _reserve(ledger, phones: list[str]) -> None:
    """Reserve `phones` against a cap through the sender's path."""
    sending = ledger.for_sending("scope", "spring", Cap(3, 24), clock_at(NOW))
    asyncio.run(sending.reserve(phones))


@pytest.mark.parametrize("write", [_fill, _reserve])
def test_a_full_ledger_is_a_ledger_error_and_nothing_is_half_written(write, tmp_path: Path) -> None:
    """A ledger on a full disk is a LedgerError naming it (exit 3), not a traceback; the
    transaction is rolled back whole and the ledger works once there is room again."""
    ledger = open_ledger(tmp_path / "ledger.sqlite")
    pages = fill_disk(ledger)
    phones = [f"+4474001{i:05d}" for i in range(500)]
    with pytest.raises(
        LedgerError, match=r"ledger\.sqlite: cannot write the ledger \(database or disk is full\)"
    ):
        write(ledger, phones)
    assert not ledger.db.in_transaction
    counts = ledger.db.execute(
        "SELECT (SELECT count(*) FROM sends), (SELECT count(*) FROM optouts)"
    )
    assert counts.fetchone() == (0, 0)
    ledger.db.execute(f"PRAGMA max_page_count = {pages * 100}")
    write(ledger, phones)
    ledger.close()


@pytest.mark.parametrize(
    ("explicit", "env", "campaign", "expected"),
    [
        ("x.sqlite", "postgresql://h/db", "c.sqlite", Path("x.sqlite")),
        (None, "postgresql://h/db", "c.sqlite", "postgresql://h/db"),
        (None, "", "c.sqlite", Path("c.sqlite")),
        (None, "", None, Path("/f/.wooxy-bulk/ledger.sqlite")),
    ],
)
def test_which_ledger(explicit, env, campaign, expected, monkeypatch) -> None:
    """--ledger, then WOOXY_LEDGER, then the campaign's, then the folder's default."""
    monkeypatch.setenv("WOOXY_LEDGER", env)
    assert choose(explicit, campaign, Path("/f")) == expected


def test_a_reservation_waits_for_one_in_progress(location: str | Path) -> None:
    """While another campaign's reservation of a number is open (its transaction holds the
    number), a second waits for it, then counts its row: two campaigns never both pass."""
    import threading

    open_ledger(location).close()
    if isinstance(location, Path):
        import sqlite3

        other = sqlite3.connect(location, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        insert = "INSERT INTO sends (scope, phone, campaign, state, sent_at) VALUES (?,?,?,?,?)"
        other.execute(insert, ("scope", A, "other", "pending", NOW.isoformat()))
    else:
        import psycopg

        other = psycopg.connect(location)
        other.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s || chr(10) || %s, 0))",
            ("scope", A),
        )
        other.execute(
            "INSERT INTO wooxy_bulk.sends (scope, phone, campaign, state, sent_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            ("scope", A, "other", "pending", NOW),
        )
    found: list[dict[str, str]] = []
    second = threading.Thread(
        target=lambda: found.append(send(location, "mine", [A], NOW, Cap(1, 24)))
    )
    second.start()
    second.join(timeout=1.0)
    assert second.is_alive(), "the second reservation did not wait for the first"
    other.commit()
    second.join(timeout=30)
    assert found == [{A: "frequency cap: 1 message in the last 24 hours (at most 1), from other"}]
    other.close()


def test_reconcile_adds_the_journals_sent_messages_once(tmp_path: Path) -> None:
    """Sent messages the journal has and the ledger lacks (a run killed before its last
    outcomes reached the ledger) are added on the next run, and only once."""
    from wooxy_bulk.ledger.check import reconcile
    from wooxy_bulk.send.journal import Journal, JState

    async def fill(journal: Journal) -> None:
        for i, phone in enumerate([A, B, C]):
            await journal.begin(phone, i + 2, "hi")
            state = JState.SENT if phone != C else JState.FAILED
            journal.finish(phone, state, sms_id=f"{i:024x}" if phone != C else "")
        journal.sync()

    with Journal(tmp_path / "j.sqlite", "scope") as journal:
        asyncio.run(fill(journal))
        entries = journal.entries()
    ledger = open_ledger(tmp_path / "ledger.sqlite")
    reconcile(ledger, "scope", "spring", entries)
    reconcile(ledger, "scope", "spring", entries)
    assert ledger.count("scope", "spring") == 2
    assert ledger.over_cap("scope", Cap(1, 24), datetime.now(UTC)).keys() == {A, B}
    ledger.close()
