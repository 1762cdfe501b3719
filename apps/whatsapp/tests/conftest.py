import pytest
from django.db import connection

from tests.processes import (
    API_KEY,
    EVENTS_SECRET,
    BridgeProcess,
    WebProcess,
    WorkerProcess,
    database_url,
)

# The local stand-in for Meta's Graph API, as the `graph` fixture.
from whatsapp_bridge.tests.graph_server import graph_fixture  # noqa: F401


@pytest.fixture
def bridge_settings(settings):
    settings.WHATSAPP_BRIDGE_API_KEY = API_KEY
    settings.WHATSAPP_EVENTS_SECRET = EVENTS_SECRET
    settings.WHATSAPP_BRIDGE_RETRIES = 0
    return settings


@pytest.fixture
def make_bridge(tmp_path, bridge_settings):
    """Start the real bridge; Django's settings point at the last one started."""
    started = []

    def make(*, events_url: str = "", port: int | None = None, data_dir=None, env: dict | None = None) -> BridgeProcess:
        bridge = BridgeProcess(data_dir or tmp_path / f"bridge{len(started)}", events_url=events_url, port=port,
                               env=env)
        bridge.start()
        bridge_settings.WHATSAPP_BRIDGE_URL = bridge.url
        started.append(bridge)
        return bridge

    yield make
    for bridge in started:
        bridge.stop()


@pytest.fixture
def live_bridge(make_bridge, live_server):
    """A bridge whose events reach this test's Django (live server) at /whatsapp/events/."""
    return make_bridge(events_url=f"{live_server.url}/whatsapp/events/")


def _clear_job_queue() -> None:
    # procrastinate's tables are not flushed between transactional tests: old jobs would run again.
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers CASCADE")


@pytest.fixture
def make_worker(tmp_path, transactional_db):
    _clear_job_queue()
    started = []

    def make(*, bridge_url: str, env: dict | None = None) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, database_url=database_url(connection.settings_dict), bridge_url=bridge_url,
                               env=env, name=f"worker{len(started)}" if started else "worker")
        started.append(worker.start())
        return worker

    yield make
    for worker in started:
        worker.stop()
    _clear_job_queue()


@pytest.fixture
def cloud_bridge(make_bridge, live_server, graph):
    """A bridge whose cloud engine talks to the local Graph API and whose events reach this test's Django."""
    bridge = make_bridge(events_url=f"{live_server.url}/whatsapp/events/",
                         env={"BRIDGE_GRAPH_API_URL": graph.url, "BRIDGE_CREDENTIALS_KEY": "django-tests-key"})
    graph.webhook_url = f"{bridge.url}/webhooks/whatsapp"
    return bridge


@pytest.fixture
def make_web(tmp_path, transactional_db):
    """gunicorn serving this test's database: the receiver of a bridge's events, an API for the test."""
    started = []

    def make(*, env: dict | None = None, port: int | None = None) -> WebProcess:
        web = WebProcess(tmp_path, database_url=database_url(connection.settings_dict), env=env, port=port)
        started.append(web.start())
        return web

    yield make
    for web in started:
        web.stop()


@pytest.fixture
def poison():
    """The database refuses inbound messages whose text is 'veneno', as it would a value it cannot store."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'poison row refused'; END $$;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON notifications_message
            FOR EACH ROW WHEN (NEW.body = 'veneno') EXECUTE FUNCTION refuse_poison();
        """)

    def cure():
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_poison ON notifications_message; DROP FUNCTION refuse_poison();")

    return cure
