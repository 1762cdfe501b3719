"""Benchmark: what one session costs the bridge, per engine.

The real bridge process, idle, then warmed up with a few sessions of each engine; then SANDBOX
linked sandbox sessions; then CLOUD cloud sessions connected to a local stand-in for Meta's Graph
API (the tests' `graph_server`, Meta's contract); then WHATSMEOW whatsmeow sessions whose dials
fail (WhatsApp is unreachable here), each in its worker process. Prints the bridge's RSS after
each step (kB per session of each kind: the difference over the step) and, from `/api/workers`,
RSS, threads and fds per whatsmeow worker. Baseline: the idle bridge of the same run.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import httpx

from bench.common import FULL, emit, free_port, link_sandbox, start, stop, wait_http
from whatsapp_bridge.tests.graph_server import GraphServer
from whatsapp_bridge.workers import proc_figures

API_KEY = "memory-bench-key-0123"
SANDBOX = 200 if FULL else 50
CLOUD = 100 if FULL else 20
WHATSMEOW = 10 if FULL else 4
WARM_UP = 3


def _settled_rss(pid: int) -> int:
    """RSS once it stops moving (allocations of the last step done), in bytes."""
    last = proc_figures(pid)["rss_bytes"]
    for _ in range(20):
        time.sleep(0.5)
        now = proc_figures(pid)["rss_bytes"]
        if abs(now - last) < 64 * 1024:
            return now
        last = now
    return last


def _wait_status(client: httpx.Client, org: str, wanted: set[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/status/{org}").json()["status"]
        if status in wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def _connect_cloud(client: httpx.Client, graph: GraphServer, org: str, index: int) -> None:
    phone_number_id = f"1065403522{index:05d}"
    graph.add_account(phone_number_id=phone_number_id, token=f"EAAG-bench-token-{index:06d}-abcdef",
                      app_secret=f"bench-app-secret-{index:06d}", display=f"+57 300 77{index:05d}",
                      waba_id=f"1022901293{index:05d}")
    client.post("/api/cloud/credentials", json={
        "organization_id": org, "phone_number_id": phone_number_id, "waba_id": f"1022901293{index:05d}",
        "access_token": f"EAAG-bench-token-{index:06d}-abcdef", "app_secret": f"bench-app-secret-{index:06d}",
        "verify_token": f"verify-{index:06d}"}).raise_for_status()
    if _wait_status(client, org, {"connected"}) != "connected":
        raise RuntimeError(f"cloud {org} never connected")


def main() -> None:
    port = free_port()
    graph = GraphServer().start()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as data_dir:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")},
            "BRIDGE_API_KEY": API_KEY, "BRIDGE_PORT": str(port), "BRIDGE_DATA_DIR": data_dir,
            "BRIDGE_GRAPH_API_URL": graph.url, "BRIDGE_SANDBOX_CONNECT_MS": "10",
            "BRIDGE_CREDENTIALS_KEY": "bench-credentials-key-0123456789abcdef",
            "BRIDGE_RECONNECT_MAX_ATTEMPTS": "100000", "BRIDGE_LOG_LEVEL": "WARNING",
        }
        bridge = start([sys.executable, "-m", "whatsapp_bridge"], env, "bridge_memory")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}, timeout=60)
        try:
            wait_http(f"http://127.0.0.1:{port}/api/health")
            time.sleep(1)
            idle = _settled_rss(bridge.pid)
            # A few sessions of each kind first, so that what every engine sets up once (the Graph
            # client, the credentials store, imports) is not counted as the cost of a session.
            for i in range(WARM_UP):
                link_sandbox(client, f"warm-s{i}", f"+5730054{i:05d}")
                _connect_cloud(client, graph, f"warm-c{i}", 90000 + i)
            warm = _settled_rss(bridge.pid)
            for i in range(SANDBOX):
                link_sandbox(client, f"s{i}", f"+5730055{i:05d}")
            after_sandbox = _settled_rss(bridge.pid)
            for i in range(CLOUD):
                _connect_cloud(client, graph, f"c{i}", i)
            after_cloud = _settled_rss(bridge.pid)
            for i in range(WHATSMEOW):
                client.post("/api/start-session", json={"organization_id": f"w{i}", "engine": "whatsmeow"})
            # Every worker up and past its first (failing) dial.
            time.sleep(15)
            after_whatsmeow = _settled_rss(bridge.pid)
            workers = [w for w in client.get("/api/workers").json()["workers"] if w["alive"] and w["rss_bytes"]]
            bridge_threads = proc_figures(bridge.pid)["threads"]
        finally:
            client.close()
            stop(bridge)
            graph.stop()

    def per_session(before: int, after: int, count: int) -> float:
        return round((after - before) / 1024 / count, 1)

    emit({
        "benchmark": "bridge_memory",
        "full": FULL,
        "sessions": {"sandbox": SANDBOX, "cloud": CLOUD, "whatsmeow": WHATSMEOW},
        "bridge_rss_mb": {"idle (baseline)": round(idle / 2**20, 1), "after_warm_up": round(warm / 2**20, 1),
                          "with_sandbox": round(after_sandbox / 2**20, 1),
                          "with_cloud": round(after_cloud / 2**20, 1),
                          "with_whatsmeow": round(after_whatsmeow / 2**20, 1)},
        "bridge_kb_per_session": {"sandbox": per_session(warm, after_sandbox, SANDBOX),
                                  "cloud": per_session(after_sandbox, after_cloud, CLOUD),
                                  "whatsmeow (in the bridge)": per_session(after_cloud, after_whatsmeow, WHATSMEOW)},
        "bridge_threads_at_end": bridge_threads,
        "whatsmeow_workers_alive": len(workers),
        "whatsmeow_worker_rss_mb_median": (round(statistics.median(w["rss_bytes"] for w in workers) / 2**20, 1)
                                           if workers else None),
        "whatsmeow_worker_threads_median": statistics.median(w["threads"] for w in workers) if workers else None,
        "whatsmeow_worker_fds_max": max(w["fds"] for w in workers) if workers else None,
        "per_session_vs_idle_bridge": {
            "sandbox": round((after_sandbox - warm) / SANDBOX / idle, 5),
            "cloud": round((after_cloud - after_sandbox) / CLOUD / idle, 5),
            "whatsmeow worker": (round(statistics.median(w["rss_bytes"] for w in workers) / idle, 2)
                                 if workers else None),
        },
    })


if __name__ == "__main__":
    main()
