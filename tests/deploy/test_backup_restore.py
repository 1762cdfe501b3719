"""deploy/backup.sh and deploy/restore.sh against the real PostgreSQL server of the test run.

The test database is populated (committed rows, so pg_dump in another process sees them), backed up,
restored into a fresh database, and both are compared table by table; the bridge's SQLite store
makes the same round trip while a connection still holds its unmerged write-ahead log.
"""

import datetime as dt
import secrets
import sqlite3
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.patients.models import Patient

from .conftest import connect, libpq_url, run_script

SAMPLED_TABLES = ("accounts_user", "organizations_organization", "organizations_membership", "patients_patient")


def _populate():
    north = OrganizationFactory(name="Óptica Norte", slug="optica-norte")
    south = OrganizationFactory(name="Óptica Sur", slug="optica-sur")
    for organization in (north, south):
        for role in Role:
            MembershipFactory(organization=organization, role=role)
    for i in range(25):
        Patient.objects.create(
            organization=north if i % 2 else south,
            document_number=f"10{i:06d}",
            first_name=f"María José {i}",
            last_name="Núñez Peña",
            birth_date=dt.date(1980, 1, 1) + dt.timedelta(days=400 * i),
            phone=f"+57300{i:07d}",
            notes="Línea 1\nLínea 2 con 'comillas' y \"dobles\"",
            whatsapp_consent=i % 3 == 0,
            whatsapp_consent_at=timezone.now() if i % 3 == 0 else None,
        )


def _tables(conn) -> list[str]:
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    return [row[0] for row in rows]


def _counts(conn) -> dict[str, int]:
    return {table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for table in _tables(conn)}


def _rows(conn, table: str) -> list[tuple]:
    return conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(table))).fetchall()


def _sequences(conn) -> dict[str, int | None]:
    rows = conn.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'").fetchall()
    return dict(rows)


def _bridge_store(folder: Path) -> sqlite3.Connection:
    """A bridge-like store in WAL mode whose last writes are still only in the -wal file."""
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / "bridge.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE sessions (organization_id TEXT PRIMARY KEY, status TEXT, creds TEXT)")
    db.executemany("INSERT INTO sessions VALUES (?, ?, ?)",
                   [(str(i), "connected", f"keys-{i}-ñ") for i in range(1, 31)])
    (folder / "whatsmeow.sqlite3").write_bytes(b"")  # an empty file is copied as is
    (folder / "media").mkdir()
    (folder / "media" / "note.txt").write_text("kept\n")
    return db


def test_backup_then_restore_into_a_fresh_database_gives_the_same_rows(fresh_database, tmp_path):
    _populate()
    source_url = libpq_url(connection.settings_dict)
    bridge_dir = tmp_path / "bridge"
    open_store = _bridge_store(bridge_dir)
    assert (bridge_dir / "bridge.sqlite3-wal").stat().st_size > 0

    backup = run_script("backup.sh", "--dir", str(tmp_path / "backups"), "--keep-daily", "3",
                        env={"DATABASE_URL": source_url, "BRIDGE_DATA_DIR": str(bridge_dir)})
    assert backup.returncode == 0, backup.stderr
    folder = Path(backup.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path / "backups" / "daily"
    assert sorted(p.name for p in folder.iterdir()) == ["MANIFEST", "SHA256SUMS", "bridge", "db.dump"]
    assert not list((folder / "bridge").glob("*-wal"))
    manifest = dict(line.split("=", 1) for line in (folder / "MANIFEST").read_text().splitlines())
    assert manifest["database"].startswith("postgresql://")
    assert manifest["database"].endswith(f"/{connection.settings_dict['NAME']}")
    server_major = connection.cursor().connection.info.server_version // 10000
    # The scripts picked the client programs of the server's own major version.
    assert f"(PostgreSQL) {server_major}." in manifest["pg_dump"]
    assert manifest["bridge_files"] == "3"
    open_store.close()

    target = fresh_database()
    restored_bridge = tmp_path / "restored-bridge"
    restore = run_script("restore.sh", str(folder), env={
        "DATABASE_URL": libpq_url(connection.settings_dict, target), "BRIDGE_DATA_DIR": str(restored_bridge)})
    assert restore.returncode == 0, restore.stderr

    with connect(connection.settings_dict["NAME"]) as original, connect(target) as copy:
        original_counts = _counts(original)
        assert original_counts["patients_patient"] == 25
        assert original_counts["organizations_membership"] == 8
        assert _counts(copy) == original_counts
        for table in SAMPLED_TABLES:
            assert _rows(copy, table) == _rows(original, table), table
        assert _sequences(copy) == _sequences(original)

    store = sqlite3.connect(restored_bridge / "bridge.sqlite3")
    assert store.execute("SELECT count(*), min(creds), max(creds) FROM sessions").fetchone() == (
        30, "keys-1-ñ", "keys-9-ñ")
    assert store.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store.close()
    assert (restored_bridge / "media" / "note.txt").read_text() == "kept\n"
    assert (restored_bridge / "whatsmeow.sqlite3").read_bytes() == b""


def test_the_application_role_restores_without_superuser_rights(fresh_database, tmp_path):
    """As docs/operations.md does it: the clinic's own role, owner of the new database, not a superuser."""
    _populate()
    backup = run_script("backup.sh", "--dir", str(tmp_path / "backups"),
                        env={"DATABASE_URL": libpq_url(connection.settings_dict)})
    assert backup.returncode == 0, backup.stderr
    role, target = f"optica_deploy_role_{secrets.token_hex(4)}", fresh_database()
    with connect("postgres") as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB PASSWORD 'role-password-1'").format(
            sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(target), sql.Identifier(role)))
    try:
        as_role = {**connection.settings_dict, "USER": role, "PASSWORD": "role-password-1"}
        result = run_script("restore.sh", backup.stdout.strip().splitlines()[-1],
                            env={"DATABASE_URL": libpq_url(as_role, target)})

        assert result.returncode == 0, result.stderr
        with connect(connection.settings_dict["NAME"]) as original, connect(target) as copy:
            assert _counts(copy) == _counts(original)
            owners = copy.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall()
            assert owners == [(role,)]
    finally:
        with connect("postgres") as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_restore_refuses_a_database_that_is_not_empty(fresh_database, tmp_path):
    _populate()
    source_url = libpq_url(connection.settings_dict)
    backup = run_script("backup.sh", "--dir", str(tmp_path / "backups"), env={"DATABASE_URL": source_url})
    assert backup.returncode == 0, backup.stderr
    folder = backup.stdout.strip().splitlines()[-1]
    target = fresh_database()
    target_url = libpq_url(connection.settings_dict, target)
    assert run_script("restore.sh", folder, env={"DATABASE_URL": target_url}).returncode == 0
    with connect(target) as conn:
        conn.execute("DELETE FROM patients_patient WHERE document_number = '10000000'")
        before = _counts(conn)

    again = run_script("restore.sh", folder, env={"DATABASE_URL": target_url})
    live = run_script("restore.sh", folder, env={"DATABASE_URL": source_url})

    assert again.returncode != 0
    assert "is not empty" in again.stderr
    assert live.returncode != 0
    with connect(target) as conn:
        assert _counts(conn) == before


def test_restore_refuses_a_bridge_folder_that_is_not_empty(tmp_path, fresh_database):
    _populate()
    bridge_dir = tmp_path / "bridge"
    _bridge_store(bridge_dir).close()
    backup = run_script("backup.sh", "--dir", str(tmp_path / "backups"),
                        env={"DATABASE_URL": libpq_url(connection.settings_dict), "BRIDGE_DATA_DIR": str(bridge_dir)})
    assert backup.returncode == 0, backup.stderr

    result = run_script("restore.sh", "--no-database", "latest", "--dir", str(tmp_path / "backups"),
                        env={"BRIDGE_DATA_DIR": str(bridge_dir)})

    assert result.returncode != 0
    assert "is not empty" in result.stderr


def test_a_damaged_backup_is_refused(tmp_path, fresh_database):
    _populate()
    backup = run_script("backup.sh", "--dir", str(tmp_path / "backups"),
                        env={"DATABASE_URL": libpq_url(connection.settings_dict)})
    folder = Path(backup.stdout.strip().splitlines()[-1])
    with (folder / "db.dump").open("r+b") as dump:
        dump.seek(200)
        dump.write(b"\x00" * 16)
    target = fresh_database()

    result = run_script("restore.sh", str(folder), env={"DATABASE_URL": libpq_url(connection.settings_dict, target)})

    assert result.returncode != 0
    assert "checksums do not match" in result.stderr
    with connect(target) as conn:
        assert _tables(conn) == []


@pytest.mark.django_db(transaction=True)
def test_the_database_password_is_never_printed_nor_written(tmp_path):
    settings = dict(connection.settings_dict)
    if not settings.get("PASSWORD"):
        # This server trusts local connections, so any password is accepted and the output can be checked.
        settings["PASSWORD"] = "Sup3r:secret/@pw"
    password = settings["PASSWORD"]

    result = run_script("backup.sh", "--dir", str(tmp_path / "backups"),
                        env={"DATABASE_URL": libpq_url(settings)})

    assert result.returncode == 0, result.stderr
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert password not in result.stdout + result.stderr
    assert password not in (folder / "MANIFEST").read_text()


@pytest.mark.django_db(transaction=True)
def test_retention_keeps_n_daily_and_m_weekly_copies_and_mirrors_them(tmp_path):
    OrganizationFactory()
    backups, remote = tmp_path / "backups", tmp_path / "offsite"
    # Sixteen days, one backup a day at 03:00 UTC: 2026-11-02 is a Monday (ISO weeks 45, 46, 47).
    for day in range(2, 18):
        result = run_script(
            "backup.sh", "--keep-daily", "3", "--keep-weekly", "2", "--dir", str(backups), "--remote", str(remote),
            env={"DATABASE_URL": libpq_url(connection.settings_dict), "BACKUP_NOW": f"2026-11-{day:02d} 03:00:00"})
        assert result.returncode == 0, result.stderr

    daily = sorted(p.name for p in (backups / "daily").iterdir())
    weekly = sorted(p.name for p in (backups / "weekly").iterdir() if not p.name.startswith("."))
    assert daily == ["opticaapp-20261115T030000Z", "opticaapp-20261116T030000Z", "opticaapp-20261117T030000Z"]
    assert weekly == ["opticaapp-2026-W46", "opticaapp-2026-W47"]
    # A week's copy is its first backup (Monday the 9th for week 46).
    assert "created=2026-11-09T03:00:00Z" in (backups / "weekly" / "opticaapp-2026-W46" / "MANIFEST").read_text()
    assert sorted(p.name for p in (remote / "daily").iterdir()) == daily
    assert sorted(p.name for p in (remote / "weekly").iterdir()) == weekly
    newest = Path("daily", daily[-1], "db.dump")
    assert (remote / newest).read_bytes() == (backups / newest).read_bytes()


def test_the_whatsapp_files_are_backed_up_and_restored(tmp_path, fresh_database):
    media = tmp_path / "media"
    (media / "7" / "messages").mkdir(parents=True)
    (media / "7" / "messages" / "a1.pdf").write_bytes(b"%PDF-1.4 receta")
    backup = run_script("backup.sh", "--dir", str(tmp_path / "backups"), "--no-bridge",
                        env={"DATABASE_URL": libpq_url(connection.settings_dict), "MEDIA_ROOT": str(media)})
    assert backup.returncode == 0, backup.stderr
    folder = Path(backup.stdout.strip().splitlines()[-1])
    assert "media_files=1" in (folder / "MANIFEST").read_text()

    occupied = tmp_path / "occupied"
    (occupied / "x").mkdir(parents=True)
    refused = run_script("restore.sh", "--no-database", "--no-bridge", str(folder), env={"MEDIA_ROOT": str(occupied)})
    assert refused.returncode != 0 and "not empty" in refused.stderr

    restored = tmp_path / "restored-media"
    restore = run_script("restore.sh", "--no-database", "--no-bridge", str(folder), env={"MEDIA_ROOT": str(restored)})
    assert restore.returncode == 0, restore.stderr
    assert (restored / "7" / "messages" / "a1.pdf").read_bytes() == b"%PDF-1.4 receta"
