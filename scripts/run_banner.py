"""Print the `make run` banner once the web and the bridge answer, below the processes' start-up lines.

Started in the background by `make run` next to pm2-runtime; gives up quietly after a few minutes
(a process that never comes up says why in its own log lines).
"""

import os
import sys
import time
import urllib.request

WEB = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
BRIDGE = os.environ.get("WHATSAPP_BRIDGE_URL", "http://127.0.0.1:3000").rstrip("/")
PASSWORD = os.environ.get("DEMO_PASSWORD", "opticaapp-demo")
PATIENCE_SECONDS = float(os.environ.get("RUN_BANNER_WAIT_SECONDS", "300"))


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URLs from our env
            return response.status == 200
    except OSError:
        return False


def banner() -> str:
    lines = [
        f"OpticaApp is running at {WEB}/",
        f"Demo login: admin@opticaapp.local / {PASSWORD}",
        # The bridge key is never printed: the sandbox page asks for it (local-bridge-key unless set).
        f"Simulated WhatsApp phones: {BRIDGE}/sandbox/ (enter the bridge key, BRIDGE_API_KEY)",
        "Logs: var/log/ (web requests in var/log/web-access.log). Stop with Ctrl-C.",
    ]
    width = max(len(line) for line in lines) + 4
    rule = "=" * width
    return "\n".join(["", rule, *(f"  {line}" for line in lines), rule, ""])


def main() -> int:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        if answers(f"{WEB}/api/health") and answers(f"{BRIDGE}/api/health"):
            print(banner(), flush=True)
            return 0
        time.sleep(1)
    return 1


if __name__ == "__main__":
    sys.exit(main())
