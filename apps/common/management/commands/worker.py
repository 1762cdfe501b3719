"""`manage.py worker`: the procrastinate worker, which outlives a PostgreSQL restart.

procrastinate's own worker stops, with exit code 0, when one of its side tasks (heartbeat,
LISTEN, periodic deferrer) loses the database: the process would then live only if something
restarts it. Here the worker is started again once the database answers, and the process exits
non-zero when it does not answer within `--reconnect-seconds`. A stop by signal exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from procrastinate.contrib.django import app
from procrastinate.contrib.django.utils import connector_params

log = logging.getLogger("apps.worker")


class _SideTaskWatcher(logging.Handler):
    """procrastinate reports a failed side task only in its log: this is how the command knows."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", "") == "side_task_failed":
            self.failure = getattr(record, "exception", "") or record.getMessage()


class Command(BaseCommand):
    help = "Run the background-job worker; after a lost database connection it reconnects."

    def add_arguments(self, parser):
        parser.add_argument("--reconnect-seconds", type=float, default=settings.WORKER_RECONNECT_SECONDS,
                            help="How long to wait for the database to come back before exiting with 1.")

    def handle(self, *args, reconnect_seconds: float, **options):
        watcher = _SideTaskWatcher()
        logging.getLogger("procrastinate").addHandler(watcher)
        self.database = connector_params("default")
        try:
            asyncio.run(self._run(watcher, reconnect_seconds))
        finally:
            logging.getLogger("procrastinate").removeHandler(watcher)

    async def _run(self, watcher: _SideTaskWatcher, reconnect_seconds: float) -> None:
        while True:
            watcher.failure = None
            with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
                async with worker_app.open_async():
                    await worker_app.run_worker_async()
            if watcher.failure is None:
                return  # stopped by a signal
            log.warning("worker lost the database (%s): reconnecting", watcher.failure)
            await self._wait_for_database(reconnect_seconds)
            log.warning("database is back: worker starting again")

    async def _wait_for_database(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        delay = 0.5
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(**self.database, connect_timeout=5)
                await connection.close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    raise CommandError(f"the database did not come back within {seconds:.0f} s: {exc}",
                                       returncode=1) from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
