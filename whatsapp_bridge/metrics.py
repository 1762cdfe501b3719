"""Prometheus metrics, on a registry of their own so several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily


class _LiveCollector:
    """Reads session counts and queue depth at scrape time instead of tracking them twice."""

    def __init__(self, owner: Metrics):
        self.owner = owner

    def describe(self):
        return []

    def collect(self):
        sessions = GaugeMetricFamily("bridge_sessions", "Sessions by status", labels=["status"])
        for status, count in (self.owner.session_counts() if self.owner.session_counts else {}).items():
            sessions.add_metric([status], count)
        yield sessions
        depth = GaugeMetricFamily("bridge_event_queue_depth", "Events waiting to be delivered to Django")
        depth.add_metric([], self.owner.queue_depth() if self.owner.queue_depth else 0)
        yield depth
        rows = self.owner.workers() if self.owner.workers else []
        rss = GaugeMetricFamily("bridge_worker_rss_bytes", "Resident memory of each whatsmeow worker", labels=["org"])
        threads = GaugeMetricFamily("bridge_worker_threads", "Threads of each whatsmeow worker", labels=["org"])
        crashes = GaugeMetricFamily("bridge_worker_crashes", "Worker processes that died unasked", labels=["org"])
        for row in rows:
            rss.add_metric([row["organization_id"]], row["rss_bytes"])
            threads.add_metric([row["organization_id"]], row["threads"])
            crashes.add_metric([row["organization_id"]], row["crashes"])
        yield rss
        yield threads
        yield crashes
        dead = GaugeMetricFamily("bridge_event_dead_letters", "Events the receiver kept refusing, set aside for replay")
        dead.add_metric([], self.owner.dead_letters() if self.owner.dead_letters else 0)
        yield dead


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.session_counts = None
        self.queue_depth = None
        self.workers = None
        self.dead_letters = None
        self.sends = Counter("bridge_sends", "Send requests by outcome", ["engine", "outcome"], registry=self.registry)
        self.send_latency = Histogram(
            "bridge_send_latency_seconds",
            "Time the engine took to send one message",
            ["engine"],
            registry=self.registry,
        )
        self.events_delivered = Counter(
            "bridge_events_delivered", "Events accepted by the receiver", registry=self.registry
        )
        self.event_post_failures = Counter(
            "bridge_event_post_failures", "Event batches the receiver did not accept", registry=self.registry
        )
        self.events_dead_lettered = Counter(
            "bridge_events_dead_lettered", "Events moved to the dead-letter table", registry=self.registry
        )
        self.registry.register(_LiveCollector(self))
