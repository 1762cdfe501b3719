"""Logging filters referenced by settings.LOGGING."""

from __future__ import annotations

import logging

# Errors a job is retried for as a matter of course: the bridge or the session is down, the
# database restarts. Named by class so that this module imports nothing of the apps.
ORDINARY_RETRY_ERRORS = {"SendRetry", "OperationalError", "InterfaceError"}


class OrdinaryRetryFilter(logging.Filter):
    """procrastinate logs every retried job with the whole traceback chain (hundreds in one outage,
    burying real errors): an ordinary retry becomes one warning line naming the error; unexpected
    errors keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "action", "") != "job_error_retry" or not record.exc_info:
            return True
        exc = record.exc_info[1]
        if type(exc).__name__ not in ORDINARY_RETRY_ERRORS:
            return True
        first_line = (str(exc).strip().splitlines() or [""])[0]
        record.msg = f"{record.getMessage()} ({type(exc).__name__}: {first_line})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
