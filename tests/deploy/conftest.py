"""Helpers of the deployment tests: the real database's connection, fresh databases, the scripts."""

import os
import secrets
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def libpq_url(settings_dict, name=None) -> str:
    """A postgres:// URL for the scripts, the socket directory of a local server percent-encoded."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{name or settings_dict['NAME']}"


def connect(name: str) -> psycopg.Connection:
    params = connection.get_connection_params()
    params = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    return psycopg.connect(dbname=name, autocommit=True, **params)


@pytest.fixture
def fresh_database(transactional_db):
    """Creates empty databases named optica_deploy_restore_<random>; drops them afterwards."""
    created = []

    def make() -> str:
        name = f"optica_deploy_restore_{secrets.token_hex(4)}"
        with connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return name

    yield make
    with connect("postgres") as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_script(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKUP_", "BRIDGE_"))}
    full_env.pop("DATABASE_URL", None)
    full_env.update(env or {})
    return subprocess.run(["bash", str(DEPLOY / script), *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=300)
