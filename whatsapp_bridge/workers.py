"""The bridge's worker processes: one per whatsmeow organization, and the figures of each.

Kept free of neonize so the bridge process itself never loads the Go core.
"""

from __future__ import annotations

import asyncio
import os
import time

# Worker processes starting at once: each import of neonize costs about 0.5 s of CPU.
SPAWN_SLOTS = 4


def proc_figures(pid: int | str = "self") -> dict:
    """RSS, threads and open fds of a process, from /proc."""
    figures = {"rss_bytes": 0, "threads": 0, "fds": 0}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    figures["rss_bytes"] = int(line.split()[1]) * 1024
                elif line.startswith("Threads:"):
                    figures["threads"] = int(line.split()[1])
        figures["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return figures


class WorkerRegistry:
    """Which worker serves which organization, how often it was restarted, how it is doing."""

    def __init__(self):
        self.workers: dict[str, object] = {}
        self.spawns: dict[str, int] = {}
        self.crashes: dict[str, int] = {}
        self._gate: asyncio.Semaphore | None = None

    def gate(self) -> asyncio.Semaphore:
        if self._gate is None:
            self._gate = asyncio.Semaphore(SPAWN_SLOTS)
        return self._gate

    def add(self, organization_id: str, worker) -> None:
        self.workers[organization_id] = worker
        self.spawns[organization_id] = self.spawns.get(organization_id, 0) + 1

    def remove(self, organization_id: str, worker) -> None:
        if self.workers.get(organization_id) is worker:
            del self.workers[organization_id]

    def crashed(self, organization_id: str) -> None:
        self.crashes[organization_id] = self.crashes.get(organization_id, 0) + 1

    def snapshot(self) -> list[dict]:
        rows = []
        for org in sorted(set(self.spawns)):
            worker = self.workers.get(org)
            pid = getattr(worker, "pid", None)
            rows.append(
                {
                    "organization_id": org,
                    "pid": pid,
                    "alive": pid is not None,
                    "uptime_s": round(time.monotonic() - worker.started, 1) if worker is not None else None,
                    "spawns": self.spawns.get(org, 0),
                    "crashes": self.crashes.get(org, 0),
                    "last_pong_s_ago": worker.pong_age() if worker is not None else None,
                    **(proc_figures(pid) if pid else {"rss_bytes": 0, "threads": 0, "fds": 0}),
                }
            )
        return rows
