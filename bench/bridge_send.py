"""Benchmark 1: the bridge's send path (sandbox engine, pacing off).

Sends per second and p50/p99 latency of POST /api/send-message under concurrent load (16 and 32
requests in flight) with 1, 10 and 100 linked sessions, against GET /api/health on the same server
and concurrency as the baseline; the bridge's CPU time per request of each (user + system, read
from the process around each run: steadier than a rate on two cores shared with the load
generator); resident memory of the bridge with 0 and 111 sessions.
"""

import asyncio
import os
import sys
import tempfile
import time

import httpx
import psutil

from bench.common import FULL, emit, free_port, load, start, stop, wait_http

API_KEY = "bench-key"
SESSION_COUNTS = [1, 10, 100]
REQUESTS = 3000 if FULL else 300
CONCURRENCIES = [16, 32]


def link_sessions(base: str, count: int) -> list[str]:
    headers = {"X-API-Key": API_KEY}
    orgs = [f"bench-{count}-{i}" for i in range(count)]
    with httpx.Client(headers=headers, timeout=30) as client:
        for org in orgs:
            client.post(f"{base}/api/start-session", json={"organization_id": org}).raise_for_status()
        for org in orgs:
            qr = None
            for _ in range(100):
                response = client.get(f"{base}/api/qr/{org}")
                if response.status_code == 200:
                    qr = response.json()["qr_text"]
                    break
                time.sleep(0.05)
            if qr is None:
                raise RuntimeError(f"no QR for {org}")
            client.get(qr, params={"phone": "+573009990000"}).raise_for_status()
        for org in orgs:
            for _ in range(200):
                if client.get(f"{base}/api/status/{org}").json()["status"] == "connected":
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"{org} did not connect")
    return orgs


def measured(bridge: psutil.Process, run, requests: int) -> tuple[dict, float]:
    """The load's figures, and the bridge's CPU milliseconds per request during it (`requests`
    counts the warm-up too, whose time is in the CPU figure)."""
    before = bridge.cpu_times()
    figures = asyncio.run(run)
    after = bridge.cpu_times()
    spent = (after.user - before.user) + (after.system - before.system)
    return figures, round(spent * 1000 / requests, 3)


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="bench-bridge-")
    env = {
        **os.environ,
        "BRIDGE_API_KEY": API_KEY,
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(port),
        "BRIDGE_DATA_DIR": data_dir,
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_SEND_MIN_GAP_MS": "0",
        "BRIDGE_SEND_JITTER_MS": "0",
        "BRIDGE_SEND_HOURLY_CAP": "0",
        "BRIDGE_SANDBOX_CONNECT_MS": "10",
        "BRIDGE_LOG_LEVEL": "WARNING",
    }
    env.pop("BRIDGE_EVENTS_URL", None)
    process = start([sys.executable, "-m", "whatsapp_bridge"], env, "bridge_send")
    try:
        wait_http(f"{base}/api/health")
        time.sleep(1)
        bridge = psutil.Process(process.pid)
        rss_empty = bridge.memory_info().rss
        results = []
        for count in SESSION_COUNTS:
            orgs = link_sessions(base, count)

            for concurrency in CONCURRENCIES:
                async def send(client, i, orgs=orgs, count=count, concurrency=concurrency):
                    return await client.post(f"{base}/api/send-message", headers={"X-API-Key": API_KEY}, json={
                        "organization_id": orgs[i % len(orgs)],
                        "phone": f"+57300{1000000 + i:07d}",
                        "message": "Recordatorio de su cita de mañana a las 9:00",
                        "client_message_id": f"bench-{count}-{concurrency}-{i}",
                    })

                async def health(client, i):
                    return await client.get(f"{base}/api/health")

                baseline, health_cpu = measured(bridge, load(health, REQUESTS, concurrency, warmup=2 * concurrency),
                                                REQUESTS + 2 * concurrency)
                sends, send_cpu = measured(bridge, load(send, REQUESTS, concurrency, warmup=2 * concurrency),
                                       REQUESTS + 2 * concurrency)
                results.append({
                    "sessions": count,
                    "concurrency": concurrency,
                    "send": sends,
                    "baseline_health": baseline,
                    "send_vs_health_throughput": round(sends["per_second"] / baseline["per_second"], 3),
                    "send_p99_vs_health_p99": round(sends["p99_ms"] / baseline["p99_ms"], 2),
                    "bridge_cpu_ms_per_request": {"send": send_cpu, "health": health_cpu},
                    "send_vs_health_cpu": round(send_cpu / health_cpu, 2),
                })
        rss_loaded = psutil.Process(process.pid).memory_info().rss
        linked = sum(SESSION_COUNTS)
        emit({
            "benchmark": "bridge_send",
            "full": FULL,
            "concurrencies": CONCURRENCIES,
            "results": results,
            "memory": {
                "rss_mb_0_sessions": round(rss_empty / 2**20, 1),
                f"rss_mb_{linked}_sessions": round(rss_loaded / 2**20, 1),
                "kb_per_session": round((rss_loaded - rss_empty) / linked / 1024, 1),
            },
        })
    finally:
        stop(process)


if __name__ == "__main__":
    main()
