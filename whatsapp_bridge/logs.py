"""JSON log lines that always carry the organization they are about."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

current_org: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_org", default=None)

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "organization_id": getattr(record, "organization_id", None) or current_org.get(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in line:
                line[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # httpx logs every request URL at info; the dispatcher logs what matters itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


class _OrgAdapter(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        # The stdlib adapter replaces a call's `extra`; keep both.
        kwargs["extra"] = {**self.extra, **(kwargs.get("extra") or {})}
        return msg, kwargs


def org_logger(name: str, organization_id: str) -> logging.LoggerAdapter:
    return _OrgAdapter(logging.getLogger(name), {"organization_id": organization_id})
