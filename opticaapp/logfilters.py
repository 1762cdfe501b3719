"""Logging filters referenced by settings.LOGGING."""

from __future__ import annotations

import logging

# Errors a job is retried for as a matter of course: the bridge or the session is down, the
# database restarts. Named by class so that this module imports nothing of the apps.
ORDINARY_RETRY_ERRORS = {"SendRetry", "OperationalError", "InterfaceError", "ConnectorException"}
# A job to be retried; a side task of the worker (heartbeat, LISTEN, periodic deferrer) that lost
# the database (the worker then reconnects).
SHORTENED_ACTIONS = {"job_error_retry", "side_task_failed", "listener_error", "update_heartbeats_error",
                     "deferrer_error", "poll_jobs_to_abort_error"}


class OrdinaryRetryFilter(logging.Filter):
    """procrastinate logs every retried job with the whole traceback chain (hundreds in one outage,
    burying real errors): an ordinary retry becomes one warning line naming the error; unexpected
    errors keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "action", "") not in SHORTENED_ACTIONS or not record.exc_info:
            return True
        exc = record.exc_info[1]
        if type(exc).__name__ not in ORDINARY_RETRY_ERRORS:
            return True
        cause = exc.__cause__ or exc
        first_line = (str(cause).strip().splitlines() or [""])[0]
        names = [type(exc).__name__] + ([type(cause).__name__] if cause is not exc else [])
        record.msg = f"{' '.join(record.getMessage().split())} ({': '.join(names)}: {first_line})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class QuietJobsFilter(logging.Filter):
    """Drops the worker's per-job lines below `level` (every start and success of the periodic jobs, several a
    minute, would bury the terminal). A retry or failure keeps its line: procrastinate logs a retried job at
    info level with its exception, which this never drops (OrdinaryRetryFilter, before it, turns an ordinary
    retry into one warning line)."""

    def __init__(self, level: str | int = "WARNING"):
        super().__init__()
        self.level = logging.getLevelName(level) if isinstance(level, str) else level

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("procrastinate.worker") and record.levelno < self.level
                    and not record.exc_info)
