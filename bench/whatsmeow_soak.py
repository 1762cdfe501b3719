"""Soak: 50 organizations on the whatsmeow engine whose dials fail, for 10 minutes.

Not part of `make bench` nor of the test suite (it runs for SOAK_SECONDS, 600 by default):
`python -m bench.whatsmeow_soak`. It starts the real bridge process, links SOAK_SANDBOX
sandbox sessions first (bridge RSS per linked sandbox session), then starts SOAK_ORGS whatsmeow
sessions. WhatsApp is unreachable, so every worker's dial fails and the sessions retry with
backoff the whole time: a new worker process per attempt. Every SOAK_SAMPLE seconds it records
the bridge's RSS, fds and threads and every live worker's, and at the end prints one JSON
object: crashes (must be 0), the bridge alive, fds/threads at the start and end of the run
(flat), RSS and threads per worker.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, emit, free_port, link_sandbox, start, stop, wait_http
from whatsapp_bridge.workers import proc_figures

API_KEY = "soak-key-0123456789"


def _env(port: int, data_dir: str) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")},
        "BRIDGE_API_KEY": API_KEY,
        "BRIDGE_PORT": str(port),
        "BRIDGE_DATA_DIR": data_dir,
        "BRIDGE_SEND_MIN_GAP_MS": "0",
        "BRIDGE_SEND_JITTER_MS": "0",
        "BRIDGE_SANDBOX_CONNECT_MS": "10",
        # Keep retrying for the whole soak: the point is many attempts, not the failed state.
        "BRIDGE_RECONNECT_BASE_MS": os.environ.get("SOAK_RECONNECT_BASE_MS", "1000"),
        "BRIDGE_RECONNECT_MAX_MS": os.environ.get("SOAK_RECONNECT_MAX_MS", "60000"),
        "BRIDGE_RECONNECT_MAX_ATTEMPTS": "100000",
        "BRIDGE_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def main() -> None:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    orgs = int(os.environ.get("SOAK_ORGS", "50"))
    sandboxes = int(os.environ.get("SOAK_SANDBOX", "100"))
    every = float(os.environ.get("SOAK_SAMPLE", "15"))
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="whatsmeow-soak-") as data_dir:
        bridge = start([sys.executable, "-m", "whatsapp_bridge"], _env(port, data_dir), "whatsmeow_soak")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}, timeout=60)
        try:
            wait_http(f"http://127.0.0.1:{port}/api/health")
            time.sleep(1)
            idle = proc_figures(bridge.pid)
            for i in range(sandboxes):
                link_sandbox(client, f"s{i}", f"+5730055{i:05d}")
            linked = proc_figures(bridge.pid)
            for i in range(orgs):
                client.post("/api/start-session", json={"organization_id": f"w{i}", "engine": "whatsmeow"})
            samples = []
            began = time.monotonic()
            while time.monotonic() - began < seconds:
                time.sleep(every)
                if bridge.poll() is not None:
                    break
                answer = client.get("/api/workers").json()
                live = [w for w in answer["workers"] if w["alive"] and w["rss_bytes"]]
                counts = client.get("/api/health").json()["sessions"]
                samples.append(
                    {
                        "t": round(time.monotonic() - began),
                        "bridge": proc_figures(bridge.pid),
                        "live_workers": len(live),
                        "worker_rss": [w["rss_bytes"] for w in live],
                        "worker_threads": [w["threads"] for w in live],
                        "worker_fds": [w["fds"] for w in live],
                        "spawns": sum(w["spawns"] for w in answer["workers"]),
                        "crashes": sum(w["crashes"] for w in answer["workers"]),
                        "sessions": counts,
                    }
                )
                print(samples[-1]["t"], samples[-1]["bridge"], len(live), samples[-1]["spawns"], file=sys.stderr)
            alive = bridge.poll() is None
        finally:
            client.close()
            stop(bridge)
    third = max(1, len(samples) // 3)
    head, tail = samples[:third], samples[-third:]

    def span(rows, key):
        return {"min": min(r["bridge"][key] for r in rows), "max": max(r["bridge"][key] for r in rows)}

    rss = [v for s in samples for v in s["worker_rss"]]
    threads = [v for s in samples for v in s["worker_threads"]]
    fds = [v for s in samples for v in s["worker_fds"]]
    emit(
        {
            "benchmark": "whatsmeow_soak",
            "seconds": seconds,
            "organizations": orgs,
            "bridge_alive": alive,
            "crashes": samples[-1]["crashes"] if samples else None,
            "worker_spawns": samples[-1]["spawns"] if samples else None,
            "sessions_at_end": samples[-1]["sessions"] if samples else None,
            "bridge_fds_first_third": span(head, "fds"),
            "bridge_fds_last_third": span(tail, "fds"),
            "bridge_threads_first_third": span(head, "threads"),
            "bridge_threads_last_third": span(tail, "threads"),
            "bridge_rss_mb_first_third": round(max(r["bridge"]["rss_bytes"] for r in head) / 2**20, 1),
            "bridge_rss_mb_last_third": round(max(r["bridge"]["rss_bytes"] for r in tail) / 2**20, 1),
            "live_workers_median": statistics.median(s["live_workers"] for s in samples),
            "worker_rss_mb_median": round(statistics.median(rss) / 2**20, 1) if rss else None,
            "worker_rss_mb_max": round(max(rss) / 2**20, 1) if rss else None,
            "worker_threads_median": statistics.median(threads) if threads else None,
            "worker_threads_max": max(threads) if threads else None,
            "worker_fds_max": max(fds) if fds else None,
            "bridge_rss_mb_idle": round(idle["rss_bytes"] / 2**20, 1),
            "bridge_kb_per_linked_sandbox_session": (
                round((linked["rss_bytes"] - idle["rss_bytes"]) / 1024 / sandboxes, 1) if sandboxes else None
            ),
            "log": str(Path(ROOT, "var", "bench", "whatsmeow_soak.log")),
        }
    )


if __name__ == "__main__":
    main()
