"""The notifier's counters: no address, name or record code in any label."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotifierMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter("motcua_notifier_events", "events handled, by type and result",
                              ["event_type", "result"], registry=registry)
        self.sent = Counter("motcua_notifications_sent", "notifications the provider accepted",
                            ["channel"], registry=registry)
        self.failed = Counter("motcua_notifications_failed", "notifications given up, by channel "
                              "and reason", ["channel", "reason"], registry=registry)
        self.retries = Counter("motcua_notifications_retried", "attempts scheduled after a "
                               "transient failure", ["channel"], registry=registry)
        self.taken_over = Counter("motcua_notifications_taken_over", "deliveries a sweep took over "
                                  "from a process that died", registry=registry)
        self._depth = Gauge("motcua_notifier_queued_notifications", "notifications held in "
                            "memory: waiting to fold, for care, for a retry, or being sent",
                            registry=registry)

    def queue_depth(self, read: Callable[[], int]) -> None:
        self._depth.set_function(read)
