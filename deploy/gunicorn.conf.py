"""Gunicorn settings for the `web` process (ecosystem.config.js); every value can be overridden by env."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# The client address comes from nginx; query strings are left out and secret paths (password-reset links,
# calendar feeds) masked by the logger class, so tokens never reach the log.
logger_class = "opticaapp.gunicorn_logging.RedactingLogger"
access_log_format = '%({x-forwarded-for}i)s %(l)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus'
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "opticaapp-web"
