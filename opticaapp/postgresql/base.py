"""Django's PostgreSQL backend with a health check that costs no round trip while the connection is idle.

CONN_HEALTH_CHECKS makes Django send `SELECT 1` before the first query of every request, so that a
connection PostgreSQL dropped (a restart) is replaced instead of failing the request. On a healthy idle
connection the server sends nothing between requests, so the socket has nothing to read; a server that
ended the connection has sent its termination notice or closed the socket, which makes it readable. The
check here looks at the socket first (a poll, no round trip) and only when something arrived runs
Django's own check, which reads it and tells a dead connection from a harmless notice."""

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper


def socket_has_input(connection) -> bool:
    """Whether the server sent anything on `connection` (a psycopg connection) since its last answer.

    A socket that cannot be polled counts as having input: the caller then makes the full check."""
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and not self.connection.closed
            and not socket_has_input(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
