"""`make run`'s terminal: the URL and the login come last, once the processes answer; job chatter stays out."""

import logging
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Health(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


def serve():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_banner_is_printed_once_web_and_bridge_answer_and_ends_the_output():
    web, bridge = serve(), serve()
    try:
        env = {"PATH": "/usr/bin:/bin", "SITE_URL": f"http://127.0.0.1:{web.server_port}",
               "WHATSAPP_BRIDGE_URL": f"http://127.0.0.1:{bridge.server_port}", "DEMO_PASSWORD": "demo-pass",
               "RUN_BANNER_WAIT_SECONDS": "60"}
        result = subprocess.run([sys.executable, "scripts/run_banner.py"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=90)
    finally:
        web.shutdown()
        bridge.shutdown()
    lines = [line.strip() for line in result.stdout.strip().splitlines()]
    assert result.returncode == 0
    assert f"OpticaApp is running at http://127.0.0.1:{web.server_port}/" in lines
    assert "Demo login: admin@opticaapp.local / demo-pass" in lines
    assert lines[-1].startswith("====")


def test_the_banner_gives_up_quietly_when_nothing_answers():
    env = {"PATH": "/usr/bin:/bin", "SITE_URL": "http://127.0.0.1:9", "WHATSAPP_BRIDGE_URL": "http://127.0.0.1:9",
           "RUN_BANNER_WAIT_SECONDS": "1"}
    result = subprocess.run([sys.executable, "scripts/run_banner.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=30)
    assert (result.returncode, result.stdout) == (1, "")


def test_the_worker_s_per_job_lines_stay_out_of_the_terminal_at_info_level_but_retries_show():
    from opticaapp.logfilters import QuietJobsFilter

    quiet = QuietJobsFilter("WARNING")

    def record(level, exc_info=None):
        return logging.LogRecord("procrastinate.worker", level, __file__, 1, "job", None, exc_info)

    assert not quiet.filter(record(logging.INFO))
    assert quiet.filter(record(logging.WARNING))
    # procrastinate logs a job to be retried at info level, with its exception: it is never hidden.
    assert quiet.filter(record(logging.INFO, (RuntimeError, RuntimeError("boom"), None)))


def test_make_run_prints_the_banner_after_start_and_keeps_web_requests_in_a_file():
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\nlint:", 1)[0]
    assert "scripts/run_banner.py &" in recipe
    assert recipe.index("run_banner.py") < recipe.index("pm2-runtime")
    assert "GUNICORN_ACCESS_LOG" in recipe
