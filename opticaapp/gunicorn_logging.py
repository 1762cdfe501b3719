"""gunicorn's access log without the secrets some URLs carry (deploy/gunicorn.conf.py: logger_class).

A password-reset link (/accounts/reset/<uid>/<token>/) and a calendar feed (/appointments/feeds/<token>.ics) are
credentials in a path: whoever reads the log could use them. nginx's log_format masks the same paths."""

import re

from gunicorn.glogging import Logger

SECRET_PATHS = [
    (re.compile(r"^/accounts/reset/[^/]+/[^/]+/"), "/accounts/reset/[redacted]/"),
    (re.compile(r"^/appointments/feeds/[^/]+$"), "/appointments/feeds/[redacted].ics"),
]


def redact_path(path: str) -> str:
    for pattern, replacement in SECRET_PATHS:
        if pattern.match(path):
            return replacement
    return path


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        # The request line, query string and referrer may hold a token too: the path alone is logged.
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = "-"
        atoms["f"] = "-"
        atoms["{referer}i"] = "-"
        return atoms
