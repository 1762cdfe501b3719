"""whatsmeow's own key store (SQLite file or PostgreSQL URL), seen from the bridge process.

The bridge reads it only to know whether a device row exists before resuming it (whatsmeow
panics on a JID it does not have) and deletes a device row when a logout could not reach
WhatsApp; every other access is whatsmeow's, inside the worker.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

BUSY_TIMEOUT_MS = 10_000


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def worker_dsn(url: str) -> str:
    """The name handed to neonize, which opens `file:<name>?_foreign_keys=on` for SQLite.

    Our own query string comes first (WAL, busy timeout, foreign keys); the trailing `_x=`
    swallows neonize's `?_foreign_keys=on` as an ignored value.
    """
    if is_postgres(url):
        return url
    return f"{url}?_journal_mode=WAL&_busy_timeout={BUSY_TIMEOUT_MS}&_foreign_keys=on&_x="


def jid_string(jid: dict) -> str:
    device = int(jid.get("device") or 0)
    user = jid["user"] + (f":{device}" if device else "")
    return f"{user}@{jid.get('server') or 's.whatsapp.net'}"


def _sqlite(url: str) -> sqlite3.Connection:
    db = sqlite3.connect(url, timeout=BUSY_TIMEOUT_MS / 1000)
    db.execute("PRAGMA foreign_keys=ON")
    return db


def parse_jid(text: str) -> dict:
    user, _, server = text.partition("@")
    user, _, device = user.partition(":")
    return {"user": user, "device": int(device or 0), "server": server or "s.whatsapp.net"}


def find_device(url: str, jid: dict) -> dict | None:
    """The stored device of this account, with its device number, or None when there is none.

    An exact match first; rows written by older bridges knew only `user@server`, so any
    device of that user is accepted then.
    """
    exact = jid_string(jid)
    server = jid.get("server") or "s.whatsapp.net"
    like = f"{jid['user']}:%@{server}"
    if is_postgres(url):
        import psycopg

        with psycopg.connect(url, connect_timeout=10) as db:
            if db.execute("SELECT to_regclass('whatsmeow_device')").fetchone()[0] is None:
                return None
            rows = db.execute(
                "SELECT jid FROM whatsmeow_device WHERE jid=%s OR jid LIKE %s", (exact, like)
            ).fetchall()
    else:
        with closing(_sqlite(url)) as db:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name='whatsmeow_device'").fetchall():
                return None
            rows = db.execute("SELECT jid FROM whatsmeow_device WHERE jid=? OR jid LIKE ?", (exact, like)).fetchall()
    found = [r[0] for r in rows]
    if exact in found:
        return parse_jid(exact)
    return parse_jid(found[0]) if found else None


def delete_device(url: str, jid: dict) -> None:
    """Drop a device row; its keys, sessions and app state go with it (ON DELETE CASCADE)."""
    key = jid_string(jid)
    if is_postgres(url):
        import psycopg

        with psycopg.connect(url, connect_timeout=10) as db:
            if db.execute("SELECT to_regclass('whatsmeow_device')").fetchone()[0] is not None:
                db.execute("DELETE FROM whatsmeow_device WHERE jid=%s", (key,))
        return
    with closing(_sqlite(url)) as db, db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name='whatsmeow_device'").fetchall():
            db.execute("DELETE FROM whatsmeow_device WHERE jid=?", (key,))


def prepare_sqlite(url: str) -> None:
    """WAL is a property of the file: set it once, before any worker opens it."""
    if is_postgres(url):
        return
    with closing(_sqlite(url)) as db:
        db.execute("PRAGMA journal_mode=WAL")
