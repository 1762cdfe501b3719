"""The bridge's own durable state: sessions, sends, the event queue, the sandbox phones.

One SQLite file in BRIDGE_DATA_DIR. Writes are tiny, so a single connection guarded by a lock is
simpler and safer than a pool; WAL keeps readers from blocking.

Durability is a group commit. Each write commits in WAL mode with synchronous=NORMAL: it is in
the WAL file (the operating system's cache) when it returns, so it survives the bridge being
killed, but a power loss could still take it. An fsync of the WAL file, on a thread of its own so
the event loop keeps serving, makes every write made before it durable: one is started after
each write (writes made while one runs share the next), and `durable()` waits for it where the
next step leaves the bridge (a send handed to WhatsApp, an answer to a caller). Before this an
fsync ran inside every commit, on the event loop: five per send, about 4 ms each here.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    organization_id TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    phone_number TEXT,
    linked INTEGER NOT NULL DEFAULT 0,
    creds TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sends (
    message_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    client_message_id TEXT,
    phone TEXT NOT NULL,
    text TEXT NOT NULL,
    buttons TEXT,
    status TEXT NOT NULL,
    first_status TEXT NOT NULL,
    first_code INTEGER NOT NULL,
    engine_id TEXT,
    error_code TEXT,
    error TEXT,
    deliver_before REAL,
    attempted_at REAL,
    sent_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sends_client_id ON sends(organization_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS sends_engine_id ON sends(organization_id, engine_id);
CREATE INDEX IF NOT EXISTS sends_queued ON sends(organization_id, status, created_at);
CREATE TABLE IF NOT EXISTS contacts (
    organization_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (organization_id, phone)
);
CREATE TABLE IF NOT EXISTS pacing (
    organization_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS button_menus (
    organization_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    buttons TEXT NOT NULL,
    PRIMARY KEY (organization_id, phone)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_org ON events(organization_id, seq);
CREATE TABLE IF NOT EXISTS dead_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    dead_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sandbox_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    message_id TEXT NOT NULL,
    whatsapp_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    text TEXT NOT NULL,
    buttons TEXT,
    button_id TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sandbox_by_org ON sandbox_messages(organization_id, seq);
-- A receipt finds its message by WhatsApp id, a restart by the bridge's id: without these each was a
-- scan of the organization's whole phone history, twice per send.
CREATE INDEX IF NOT EXISTS sandbox_by_whatsapp_id ON sandbox_messages(organization_id, whatsapp_id);
CREATE INDEX IF NOT EXISTS sandbox_by_message_id ON sandbox_messages(organization_id, message_id);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    caption TEXT NOT NULL DEFAULT '',
    voice INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""
# Columns added after the first release; a store created before them gets them at open.
ADDED_COLUMNS = {
    "sends": {"media_id": "TEXT", "extra": "TEXT", "deliver_before": "REAL", "attempted_at": "REAL", "sent_at": "REAL"},
    "sandbox_messages": {"media_id": "TEXT"},
    "sessions": {"region": "TEXT"},
    "events": {"attempts": "INTEGER NOT NULL DEFAULT 0"},
}


# Engine ids per UPDATE ... IN (...): far below SQLite's limit of bound parameters.
UPDATE_CHUNK = 500


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # The replay command writes to the same file while the bridge runs: wait for its lock.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit writes the WAL without an fsync; sync() makes writes durable (group commit).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        self._db.execute("CREATE INDEX IF NOT EXISTS sends_deadline ON sends(status, deliver_before)")
        self._known_columns: dict[str, set[str]] = {}
        self._wal = f"{path}-wal"
        self._written = 0  # writes committed so far
        self._synced = 0  # of which known to be on disk
        self._sync_lock = threading.Lock()
        self._sync_pending = False
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-sync")
        self.sync()

    def close(self) -> None:
        self._syncer.shutdown(wait=True)
        self.sync()
        with self._lock:
            self._db.close()

    # durability
    def sync(self) -> None:
        """Every write committed before this call is on disk when it returns (one fsync of the WAL)."""
        target = self._written
        if self._synced >= target:
            return
        with self._sync_lock:
            if self._synced >= target:
                return  # another caller's fsync covered it
            upto = self._written
            try:
                fd = os.open(self._wal, os.O_RDONLY)
            except FileNotFoundError:
                fd = None  # no WAL: every write is in the database file, synced by its checkpoint
            if fd is not None:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            self._synced = max(self._synced, upto)

    def _background_sync(self) -> None:
        self._sync_pending = False
        self.sync()

    def _wrote(self) -> None:
        self._written += 1
        if self._sync_pending:
            return  # the fsync already asked for reads the counter when it starts: it covers this write
        self._sync_pending = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._submit_sync()
        else:
            # The writes of one step of the event loop (a request, a receipt) share one wake-up.
            loop.call_soon(self._submit_sync)

    def _submit_sync(self) -> None:
        try:
            self._syncer.submit(self._background_sync)
        except RuntimeError:  # closing: close() syncs what is left
            self._sync_pending = False

    async def durable(self) -> None:
        """Wait (off the event loop) until every write made so far is on disk."""
        if self._synced >= self._written:
            return
        await asyncio.get_running_loop().run_in_executor(self._syncer, self.sync)

    def _columns(self, table: str, names) -> str:
        # Column names are interpolated into SQL, so only real columns of the table pass.
        known = self._known_columns.get(table)
        if known is None:
            with self._lock:
                known = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            self._known_columns[table] = known
        unknown = set(names) - known
        if unknown:
            raise ValueError(f"unknown columns for {table}: {sorted(unknown)}")
        return ", ".join(names)

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        cols = self._columns(table, list(row))
        marks = ", ".join("?" * len(row))
        self._exec(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))  # noqa: S608

    def _update(self, table: str, key: str, key_value: Any, fields: dict[str, Any]) -> None:
        self._columns(table, [*fields, key])
        sets = ", ".join(f"{k}=?" for k in fields)
        self._exec(f"UPDATE {table} SET {sets} WHERE {key}=?", (*fields.values(), key_value))  # noqa: S608

    def _exec(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            cursor = self._db.execute(sql, params)
        self._wrote()
        return cursor

    def _all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, params).fetchall()]

    def _one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # sessions
    def sessions(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM sessions ORDER BY organization_id")

    def session(self, org: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM sessions WHERE organization_id=?", (org,))

    def save_session(self, org: str, **fields: Any) -> None:
        if "creds" in fields and fields["creds"] is not None and not isinstance(fields["creds"], str):
            fields["creds"] = json.dumps(fields["creds"])
        fields["updated_at"] = time.time()
        if self.session(org) is None:
            fields.setdefault("engine", "sandbox")
            fields.setdefault("status", "disconnected")
            self._insert("sessions", {"organization_id": org, **fields})
        else:
            self._update("sessions", "organization_id", org, fields)

    def creds(self, org: str) -> dict[str, Any] | None:
        row = self.session(org)
        return json.loads(row["creds"]) if row and row["creds"] else None

    # sends
    def send_by_client_id(self, org: str, client_message_id: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM sends WHERE organization_id=? AND client_message_id=?", (org, client_message_id)
        )

    def send(self, message_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM sends WHERE message_id=?", (message_id,))

    def send_by_engine_id(self, org: str, engine_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM sends WHERE organization_id=? AND engine_id=?", (org, engine_id))

    def delete_send(self, message_id: str) -> None:
        self._exec("DELETE FROM sends WHERE message_id=?", (message_id,))

    def insert_send(self, row: dict[str, Any]) -> dict[str, Any]:
        """Records a send; returns the row as written (its JSON columns as given), so that the send
        path goes on with it instead of reading it back."""
        now = time.time()
        row = {**row, "created_at": now, "updated_at": now}
        stored = dict(row)
        for key in ("buttons", "extra"):
            if stored.get(key) is not None:
                stored[key] = json.dumps(stored[key], ensure_ascii=False)
        self._insert("sends", stored)
        return row

    def update_send(self, message_id: str, **fields: Any) -> None:
        fields["updated_at"] = time.time()
        self._update("sends", "message_id", message_id, fields)

    def record_sent(self, message_id: str, engine_id: str) -> None:
        """The engine took the send. A receipt that came first (the Cloud API's webhook may beat the
        answer to the send itself) keeps its later status: a status only moves forward."""
        now = time.time()
        self._exec(
            "UPDATE sends SET status=CASE WHEN status IN ('delivered', 'read') THEN status ELSE 'sent' END, "
            "engine_id=?, sent_at=?, first_status='sent', first_code=200, updated_at=? WHERE message_id=?",
            (engine_id, now, now, message_id),
        )

    def advance_sends(
        self, org: str, engine_ids: list[str], status: str, after: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        """Receipts: the sends their engine ids name move to `status` where they are now in `after`
        (the statuses before it). Returns what the events of those that moved need, in the order of
        `engine_ids`. One statement for a batch, where a look-up and an update per receipt were two."""
        if not after or not engine_ids:
            return []
        moved: dict[str, dict[str, Any]] = {}
        status_marks = ",".join("?" * len(after))
        for start in range(0, len(engine_ids), UPDATE_CHUNK):
            chunk = engine_ids[start : start + UPDATE_CHUNK]
            id_marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"UPDATE sends SET status=?, updated_at=? WHERE organization_id=? "  # noqa: S608
                    f"AND engine_id IN ({id_marks}) AND status IN ({status_marks}) "
                    "RETURNING message_id, client_message_id, phone, engine_id",
                    (status, time.time(), org, *chunk, *after),
                ).fetchall()
            if rows:
                self._wrote()
            moved.update((row["engine_id"], dict(row)) for row in rows)
        return [moved[engine_id] for engine_id in dict.fromkeys(engine_ids) if engine_id in moved]

    def _exec_many(self, sql: str, rows: list[tuple]) -> None:
        """One transaction: executemany alone commits every row on its own in autocommit mode."""
        if not rows:
            return
        if len(rows) == 1:
            self._exec(sql, rows[0])
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._wrote()

    def has_queued_sends(self, org: str) -> bool:
        found = self._one("SELECT 1 AS n FROM sends WHERE organization_id=? AND status='queued' LIMIT 1", (org,))
        return found is not None

    def queued_sends(self, org: str) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM sends WHERE organization_id=? AND status='queued' ORDER BY created_at, rowid", (org,)
        )

    def next_queued_send(self, org: str) -> dict[str, Any] | None:
        """The oldest queued send: the outbox's next one. Only that row is read at each step, where
        reading every queued row made draining a backlog of n sends cost n² row reads."""
        return self._one(
            "SELECT * FROM sends WHERE organization_id=? AND status='queued' ORDER BY created_at, rowid LIMIT 1",
            (org,),
        )

    # contacts a session has written with or heard from: not "new" any more (no number check,
    # not held back by a reach-out restriction)
    def contact_seen(self, org: str, phone: str) -> None:
        self._exec(
            "INSERT INTO contacts VALUES (?, ?, ?) "
            "ON CONFLICT(organization_id, phone) DO UPDATE SET seen_at=excluded.seen_at",
            (org, phone, time.time()),
        )

    def contact_known(self, org: str, phone: str) -> bool:
        return self._one("SELECT 1 AS n FROM contacts WHERE organization_id=? AND phone=?", (org, phone)) is not None

    # an organization's own pacing figures (only the ones it set)
    def pacing(self, org: str) -> dict[str, int]:
        row = self._one("SELECT body FROM pacing WHERE organization_id=?", (org,))
        return json.loads(row["body"]) if row else {}

    def set_pacing(self, org: str, values: dict[str, int]) -> None:
        self._exec(
            "INSERT INTO pacing VALUES (?, ?) ON CONFLICT(organization_id) DO UPDATE SET body=excluded.body",
            (org, json.dumps(values, sort_keys=True)),
        )

    def interrupted_sends(self, org: str) -> list[dict[str, Any]]:
        """Rows left `sending` by a bridge that stopped between recording a send and its outcome."""
        return self._all(
            "SELECT * FROM sends WHERE organization_id=? AND status='sending' ORDER BY created_at, rowid", (org,)
        )

    def expired_queued_sends(self, now: float) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM sends WHERE status='queued' AND deliver_before IS NOT NULL AND deliver_before<? "
            "ORDER BY created_at, rowid",
            (now,),
        )

    # numbered-button menus, for engines without native buttons
    def set_menu(self, org: str, phone: str, buttons: list[dict]) -> None:
        self._exec(
            "INSERT INTO button_menus VALUES (?, ?, ?) ON CONFLICT(organization_id, phone) "
            "DO UPDATE SET buttons=excluded.buttons",
            (org, phone, json.dumps(buttons)),
        )

    def menu(self, org: str, phone: str) -> list[dict] | None:
        row = self._one("SELECT buttons FROM button_menus WHERE organization_id=? AND phone=?", (org, phone))
        return json.loads(row["buttons"]) if row else None

    # event queue
    def enqueue_event(self, event: dict[str, Any]) -> None:
        self._exec(
            "INSERT INTO events (id, organization_id, body, created_at) VALUES (?, ?, ?, ?)",
            (event["id"], event["organization_id"], json.dumps(event, ensure_ascii=False), time.time()),
        )

    def enqueue_events(self, events: list[dict[str, Any]]) -> None:
        """In their order, in one transaction."""
        now = time.time()
        self._exec_many(
            "INSERT INTO events (id, organization_id, body, created_at) VALUES (?, ?, ?, ?)",
            [(e["id"], e["organization_id"], json.dumps(e, ensure_ascii=False), now) for e in events],
        )

    def peek_events(self, limit: int, skip_orgs: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The oldest events of one organization (the one with the oldest event not in `skip_orgs`).

        One organization per batch: a batch the receiver refuses then holds back only that
        organization, and each organization's events stay in order.
        """
        marks = ",".join("?" * len(skip_orgs))
        where = f"WHERE organization_id NOT IN ({marks})" if skip_orgs else ""
        first = self._one(f"SELECT organization_id FROM events {where} ORDER BY seq LIMIT 1", skip_orgs)  # noqa: S608
        if first is None:
            return []
        return self._all(
            "SELECT seq, id, organization_id, body, attempts FROM events WHERE organization_id=? ORDER BY seq LIMIT ?",
            (first["organization_id"], limit),
        )

    def ack_events(self, seqs: list[int]) -> None:
        marks = ",".join("?" * len(seqs))
        self._exec(f"DELETE FROM events WHERE seq IN ({marks})", tuple(seqs))  # noqa: S608

    def count_event_refusal(self, seq: int) -> int:
        self._exec("UPDATE events SET attempts=attempts+1 WHERE seq=?", (seq,))
        row = self._one("SELECT attempts FROM events WHERE seq=?", (seq,))
        return int(row["attempts"]) if row else 0

    def dead_letter_event(self, seq: int, reason: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO dead_events "
                    "(id, organization_id, body, attempts, reason, created_at, dead_at) "
                    "SELECT id, organization_id, body, attempts, ?, created_at, ? FROM events WHERE seq=?",
                    (reason, time.time(), seq),
                )
                self._db.execute("DELETE FROM events WHERE seq=?", (seq,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._wrote()

    def dead_events(self) -> list[dict[str, Any]]:
        return self._all("SELECT seq, id, organization_id, attempts, reason, dead_at FROM dead_events ORDER BY seq")

    def replay_dead_events(self, org: str | None = None) -> int:
        """Back into the queue (as new, attempts reset); returns how many."""
        where, params = ("WHERE organization_id=?", (org,)) if org else ("", ())
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                moved = self._db.execute(
                    "INSERT OR IGNORE INTO events (id, organization_id, body, created_at) "  # noqa: S608
                    f"SELECT id, organization_id, body, created_at FROM dead_events {where} ORDER BY seq",
                    params,
                ).rowcount
                self._db.execute(f"DELETE FROM dead_events {where}", params)  # noqa: S608
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._wrote()
        self.sync()  # a command: its work is on disk before it says so
        return moved

    def event_depth(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM events")
        return int(row["n"]) if row else 0

    # media files' descriptions (the bytes are files, see media.py)
    def add_media(self, row: dict[str, Any]) -> None:
        self._insert("media", row)

    def media(self, org: str, media_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM media WHERE organization_id=? AND media_id=?", (org, media_id))

    def dead_event_count(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM dead_events")
        return int(row["n"]) if row else 0

    # sandbox phones
    def add_sandbox_message(self, row: dict[str, Any]) -> None:
        row = {**row, "created_at": time.time()}
        if row.get("buttons") is not None:
            row["buttons"] = json.dumps(row["buttons"])
        self._insert("sandbox_messages", row)

    def sandbox_sent_message(self, org: str, message_id: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM sandbox_messages WHERE organization_id=? AND message_id=? AND direction='out'",
            (org, message_id),
        )

    def sandbox_awaiting_receipts(self, org: str) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM sandbox_messages WHERE organization_id=? AND direction='out' "
            "AND status IN ('sent', 'delivered') ORDER BY seq",
            (org,),
        )

    def set_sandbox_status(self, org: str, whatsapp_id: str, status: str) -> None:
        self._exec(
            "UPDATE sandbox_messages SET status=? WHERE organization_id=? AND whatsapp_id=?",
            (status, org, whatsapp_id),
        )

    def set_sandbox_statuses(self, org: str, statuses: list[tuple[str, str]]) -> None:
        """(whatsapp_id, status) pairs, applied in their order, in one transaction."""
        self._exec_many(
            "UPDATE sandbox_messages SET status=? WHERE organization_id=? AND whatsapp_id=?",
            [(status, org, whatsapp_id) for whatsapp_id, status in statuses],
        )

    def sandbox_messages(self, org: str | None = None) -> list[dict[str, Any]]:
        if org is None:
            rows = self._all("SELECT * FROM sandbox_messages ORDER BY seq")
        else:
            rows = self._all("SELECT * FROM sandbox_messages WHERE organization_id=? ORDER BY seq", (org,))
        for r in rows:
            r["buttons"] = json.loads(r["buttons"]) if r["buttons"] else []
        return rows

    def sandbox_message(self, org: str, phone: str, any_id: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM sandbox_messages WHERE organization_id=? AND phone=? AND (message_id=? OR whatsapp_id=?)",
            (org, phone, any_id, any_id),
        )

    def last_sandbox_buttons(self, org: str, phone: str) -> list[dict]:
        row = self._one(
            "SELECT buttons FROM sandbox_messages WHERE organization_id=? AND phone=? AND direction='out' "
            "AND buttons IS NOT NULL ORDER BY seq DESC LIMIT 1",
            (org, phone),
        )
        return json.loads(row["buttons"]) if row else []
