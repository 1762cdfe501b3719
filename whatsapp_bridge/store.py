"""The bridge's own durable state: sessions, sends, the event queue, the sandbox phones.

One SQLite file in BRIDGE_DATA_DIR. Writes are tiny and infrequent, so a single connection
guarded by a lock is simpler and safer than a pool; WAL keeps readers from blocking.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
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
    created_at REAL NOT NULL
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
    "sends": {"media_id": "TEXT", "extra": "TEXT"},
    "sandbox_messages": {"media_id": "TEXT"},
    "sessions": {"region": "TEXT"},
}


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _columns(self, table: str, names) -> str:
        # Column names are interpolated into SQL, so only real columns of the table pass.
        with self._lock:
            known = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
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
            return self._db.execute(sql, params)

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

    def insert_send(self, row: dict[str, Any]) -> None:
        now = time.time()
        row = {**row, "created_at": now, "updated_at": now}
        for key in ("buttons", "extra"):
            if row.get(key) is not None:
                row[key] = json.dumps(row[key], ensure_ascii=False)
        self._insert("sends", row)

    def update_send(self, message_id: str, **fields: Any) -> None:
        fields["updated_at"] = time.time()
        self._update("sends", "message_id", message_id, fields)

    def queued_sends(self, org: str) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM sends WHERE organization_id=? AND status='queued' ORDER BY created_at, rowid", (org,)
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

    def peek_events(self, limit: int) -> list[dict[str, Any]]:
        return self._all("SELECT seq, body FROM events ORDER BY seq LIMIT ?", (limit,))

    def ack_events(self, max_seq: int) -> None:
        self._exec("DELETE FROM events WHERE seq<=?", (max_seq,))

    def event_depth(self) -> int:
        row = self._one("SELECT COUNT(*) AS n FROM events")
        return int(row["n"]) if row else 0

    # media files' descriptions (the bytes are files, see media.py)
    def add_media(self, row: dict[str, Any]) -> None:
        self._insert("media", row)

    def media(self, org: str, media_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM media WHERE organization_id=? AND media_id=?", (org, media_id))

    # sandbox phones
    def add_sandbox_message(self, row: dict[str, Any]) -> None:
        row = {**row, "created_at": time.time()}
        if row.get("buttons") is not None:
            row["buttons"] = json.dumps(row["buttons"])
        self._insert("sandbox_messages", row)

    def set_sandbox_status(self, org: str, whatsapp_id: str, status: str) -> None:
        self._exec(
            "UPDATE sandbox_messages SET status=? WHERE organization_id=? AND whatsapp_id=?",
            (status, org, whatsapp_id),
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
