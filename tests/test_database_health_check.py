"""The database health check (opticaapp/postgresql): a dropped connection is replaced before a request's first
query, as CONN_HEALTH_CHECKS promises, and a healthy idle one costs no round trip."""

import select
import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_connection():
    """A second connection to the test database, as a gunicorn thread holds one between requests."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _start_of_request(wrapper):
    # What request_started does (close_old_connections): the next query runs the health check.
    wrapper.close_if_unusable_or_obsolete()


def _round_trips(wrapper, monkeypatch):
    sent = []
    original = type(wrapper).is_usable
    monkeypatch.setattr(type(wrapper), "is_usable", lambda self: sent.append(1) or original(self))
    return sent


def test_the_settings_use_the_backend_with_the_idle_socket_health_check():
    assert connection.settings_dict["ENGINE"] == "opticaapp.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_healthy_idle_connection_is_kept_without_a_round_trip(own_connection, monkeypatch):
    sent = _round_trips(own_connection, monkeypatch)
    raw = own_connection.connection
    _start_of_request(own_connection)

    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    assert sent == []
    assert own_connection.connection is raw


def test_a_connection_the_server_ended_is_replaced_before_the_first_query(own_connection, monkeypatch):
    sent = _round_trips(own_connection, monkeypatch)
    raw = own_connection.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [raw.info.backend_pid])
    # The server's termination notice reaches the socket (what a restart of PostgreSQL does to every connection).
    deadline = time.monotonic() + 10
    while not select.select([raw.fileno()], [], [], 0.1)[0] and time.monotonic() < deadline:
        pass
    _start_of_request(own_connection)

    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)

    assert sent == [1]  # Django's own check ran, found the connection dead, and a new one answered
    assert own_connection.connection is not raw
