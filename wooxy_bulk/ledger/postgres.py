"""The PostgreSQL ledger, shared by a team on several machines (psycopg 3).

Its tables live in the schema `wooxy_bulk`, created on first use and migrated by version number
(`wooxy_bulk.meta`) under an advisory lock, so two first runs at once do not race. A reservation
takes a transaction-scoped advisory lock on the number, then counts and inserts: two campaigns
reserving one number serialise on the lock, and the second one's count sees the first's row.
A password (in the URL, or PGPASSWORD) never appears in a message: every error text is scrubbed.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import quote, quote_plus

import psycopg
from psycopg import conninfo as _conninfo

from ..errors import InputError
from . import Cap, Clock, OptOut, SendLedger
from .common import LedgerError, Outcomes

SCHEMA_VERSION = 1
CONNECT_TIMEOUT_S = 10
_MIGRATION_LOCK = 0x776F6F78_79626C6B  # "wooxybulk": the one advisory lock migrations take

_MIGRATIONS = [
    """
    CREATE TABLE wooxy_bulk.sends (
        id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        scope    text NOT NULL,
        phone    text NOT NULL,
        campaign text NOT NULL,
        state    text NOT NULL,
        sent_at  timestamptz NOT NULL,
        sms_id   text NOT NULL DEFAULT ''
    );
    CREATE INDEX sends_recent ON wooxy_bulk.sends (scope, sent_at, phone, campaign);
    CREATE INDEX sends_number ON wooxy_bulk.sends (scope, phone, sent_at);
    CREATE UNIQUE INDEX sends_sms_id ON wooxy_bulk.sends (scope, sms_id) WHERE sms_id <> '';
    CREATE TABLE wooxy_bulk.optouts (
        phone  text PRIMARY KEY,
        since  timestamptz NOT NULL,
        reason text NOT NULL DEFAULT '',
        source text NOT NULL DEFAULT ''
    );
    -- One round trip for a batch of reservations: write the outcomes noted since the last one
    -- (confirmed: ids, states, sms_ids; released: ids); then for each number, in order (two
    -- runs lock numbers in one order: no deadlock), lock it for the transaction, count (a
    -- volatile function's statements each see what was committed before them, so the second of
    -- two campaigns reserving one number counts the first's row), insert if under the cap.
    CREATE FUNCTION wooxy_bulk.reserve(
        p_scope text, p_phones text[], p_campaign text, p_since timestamptz,
        p_now timestamptz, p_cap integer, p_ids bigint[], p_states text[], p_sms_ids text[],
        p_released bigint[]
    ) RETURNS TABLE (phone text, prior bigint, names text, reserved bigint)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        p_phone text;
    BEGIN
        UPDATE wooxy_bulk.sends s SET state = o.state, sms_id = o.sms_id
        FROM unnest(p_ids, p_states, p_sms_ids) AS o(id, state, sms_id) WHERE s.id = o.id;
        DELETE FROM wooxy_bulk.sends s WHERE s.id = ANY(p_released);
        FOREACH p_phone IN ARRAY p_phones LOOP
            PERFORM pg_advisory_xact_lock(hashtextextended(p_scope || chr(10) || p_phone, 0));
            phone := p_phone;
            reserved := NULL;
            SELECT count(*), string_agg(DISTINCT s.campaign, ',') INTO prior, names
            FROM wooxy_bulk.sends s
            WHERE s.scope = p_scope AND s.phone = p_phone AND s.sent_at >= p_since;
            IF prior < p_cap THEN
                INSERT INTO wooxy_bulk.sends (scope, phone, campaign, state, sent_at)
                VALUES (p_scope, p_phone, p_campaign, 'pending', p_now)
                RETURNING wooxy_bulk.sends.id INTO reserved;
            END IF;
            RETURN NEXT;
        END LOOP;
    END $$;
    """,
]

_INSERT_SEND = """
INSERT INTO wooxy_bulk.sends (scope, phone, campaign, state, sent_at, sms_id)
VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (scope, sms_id) WHERE sms_id <> '' DO NOTHING
"""
_OVER_CAP = """
SELECT phone, count(*), string_agg(DISTINCT campaign, ',') FROM wooxy_bulk.sends
WHERE scope = %s AND sent_at >= %s GROUP BY phone HAVING count(*) >= %s
"""
_RESERVE = "SELECT * FROM wooxy_bulk.reserve(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


class Secrets:
    """The password of a connection (from the URL or PGPASSWORD), in every spelling a message
    could carry it, and the URL as it may be shown."""

    def __init__(self, url: str) -> None:
        try:
            params = _conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            params = {}
        found = {str(params.get("password") or ""), os.environ.get("PGPASSWORD", "")}
        spellings = set()
        for value in filter(None, found):
            spellings |= {value, quote(value, safe=""), quote_plus(value, safe="")}
        self._values = sorted(spellings, key=len, reverse=True)
        self.location = self.scrub(_shown(url, params))

    def scrub(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return text


def _shown(url: str, params: dict[str, Any]) -> str:
    """postgresql://user@host:port/db with no password and no query."""
    if not params:
        return url.split("://", 1)[0] + "://…"
    user = f"{params['user']}@" if params.get("user") else ""
    host = str(params.get("host") or "")
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname') or ''}"


class PostgresLedger:
    """The ledger in a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.secrets = Secrets(url)
        self.location = self.secrets.location
        try:
            self.db = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.ProgrammingError as exc:  # a malformed URL
            raise InputError(f"ledger: {self.secrets.scrub(str(exc))}") from None
        except psycopg.Error as exc:
            raise InputError(
                f"ledger {self.location}: cannot connect ({self._why(exc)}); check the URL,"
                " that the server is up and the password (in the URL or PGPASSWORD)"
            ) from None
        try:
            self._migrate()
        except psycopg.Error as exc:
            self.db.close()
            raise InputError(
                f"ledger {self.location}: cannot prepare the ledger's tables ({self._why(exc)})"
            ) from None

    def _why(self, exc: BaseException) -> str:
        return self.secrets.scrub(" ".join(str(exc).split()))

    def _migrate(self) -> None:
        try:
            row = self.db.execute("SELECT version FROM wooxy_bulk.meta").fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
        if row is not None and row[0] == SCHEMA_VERSION:
            return
        with self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self.db.execute("CREATE SCHEMA IF NOT EXISTS wooxy_bulk")
            self.db.execute("CREATE TABLE IF NOT EXISTS wooxy_bulk.meta (version integer)")
            row = self.db.execute("SELECT version FROM wooxy_bulk.meta").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"ledger {self.location}: schema version {version} is newer than this"
                    f" wooxy-bulk understands ({SCHEMA_VERSION}); upgrade wooxy-bulk"
                )
            for script in _MIGRATIONS[version:]:
                self.db.execute(script.encode())
            self.db.execute("DELETE FROM wooxy_bulk.meta")
            self.db.execute("INSERT INTO wooxy_bulk.meta VALUES (%s)", (SCHEMA_VERSION,))

    def _fail(self, exc: psycopg.Error) -> NoReturn:
        raise LedgerError(f"ledger {self.location}: {self._why(exc)}") from None

    def optouts(self) -> dict[str, OptOut]:
        try:
            rows = self.db.execute("SELECT phone, since, reason, source FROM wooxy_bulk.optouts")
            return {r[0]: OptOut(*r) for r in rows}
        except psycopg.Error as exc:
            self._fail(exc)

    def add_optouts(self, entries: Sequence[OptOut]) -> int:
        query = "INSERT INTO wooxy_bulk.optouts VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
        return self._many(query, [(e.phone, e.since, e.reason, e.source) for e in entries])

    def remove_optouts(self, phones: Sequence[str]) -> int:
        return self._many("DELETE FROM wooxy_bulk.optouts WHERE phone = %s", [(p,) for p in phones])

    def _many(self, query: str, params: list[tuple[Any, ...]]) -> int:
        try:
            with self.db.transaction(), self.db.cursor() as cursor:
                cursor.executemany(query, params, returning=False)
                return max(cursor.rowcount, 0)
        except psycopg.Error as exc:
            self._fail(exc)

    def over_cap(self, scope: str, cap: Cap, now: datetime) -> dict[str, str]:
        try:
            rows = self.db.execute(_OVER_CAP, (scope, cap.since(now), cap.messages))
            return cap.describe_all(rows)
        except psycopg.Error as exc:
            self._fail(exc)

    def record(self, scope: str, campaign: str, sends: Sequence[tuple[str, str, datetime]]) -> None:
        self._many(_INSERT_SEND, [(scope, p, campaign, "sent", at, i) for p, i, at in sends])

    def count(self, scope: str, campaign: str) -> int:
        query = (
            "SELECT count(*) FROM wooxy_bulk.sends"
            " WHERE scope = %s AND campaign = %s AND state = 'sent'"
        )
        try:
            row = self.db.execute(query, (scope, campaign)).fetchone()
        except psycopg.Error as exc:
            self._fail(exc)
        return int(row[0]) if row else 0

    def for_sending(self, scope: str, campaign: str, cap: Cap | None, clock: Clock) -> SendLedger:
        return PostgresSending(self, scope, campaign, cap, clock)

    def close(self) -> None:
        self.db.close()


class PostgresSending(Outcomes):
    """The sender's side of a PostgreSQL ledger: its own asynchronous connection, opened in the
    event loop on first use; outcomes are written by a background task, a batch at a time."""

    def __init__(
        self, ledger: PostgresLedger, scope: str, campaign: str, cap: Cap | None, clock: Clock
    ) -> None:
        super().__init__(scope, campaign, cap, clock, time.monotonic)
        self.ledger = ledger
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(
                self.ledger.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        return self._conn

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def reserve(self, phones: Sequence[str]) -> dict[str, str]:
        if self.cap is None:
            return {}
        now = self.clock()
        try:
            async with self._guard():
                conn = await self._connection()
                inserts, updates, released = self.take()
                if inserts:  # none when every message is reserved first, as the sender does
                    await conn.cursor().executemany(_INSERT_SEND, inserts)
                ids, states, sms_ids = ([u[i] for u in updates] for i in (2, 0, 1))
                params = (self.scope, sorted(phones), self.campaign, self.cap.since(now), now)
                params += (self.cap.messages, ids, states, sms_ids, released)
                cursor = await conn.execute(_RESERVE, params, prepare=True)
                rows = await cursor.fetchall()
        except psycopg.Error as exc:
            self.ledger._fail(exc)
        refused = {}
        for phone, count, names, row in rows:
            if row is None:
                refused[phone] = self.cap.describe(count, (names or "").split(","))
            else:
                self.reserved[phone] = row
        return refused

    def flush(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        if not self.noted:
            return
        try:
            async with self._guard():
                conn = await self._connection()
                async with conn.transaction():
                    await self._write(conn)
        except psycopg.Error as exc:
            self.ledger._fail(exc)

    async def _write(self, conn: psycopg.AsyncConnection[Any]) -> None:
        inserts, updates, deletes = self.take()
        async with conn.cursor() as cursor:
            if inserts:
                await cursor.executemany(_INSERT_SEND, inserts)
            if updates:
                await cursor.executemany(
                    "UPDATE wooxy_bulk.sends SET state = %s, sms_id = %s WHERE id = %s", updates
                )
            if deletes:
                await cursor.execute("DELETE FROM wooxy_bulk.sends WHERE id = ANY(%s)", (deletes,))

    async def aclose(self) -> None:
        try:
            if self._task is not None:
                await self._task
            self.release_unsent()
            await self._flush()
        finally:
            if self._conn is not None:
                await self._conn.close()
