"""Gauges read from the broker or the database by a background loop, so a scrape never waits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

Samples = Mapping[tuple[str, ...], float]
"""Label values (in the gauge's label order) to a value."""
Read = Callable[[], Awaitable[Samples]]


class SampledGauge(Collector):
    """One gauge family refreshed every few seconds by `run`. A scrape shows the last read; a
    read that fails or takes too long empties the family instead of showing stale figures, and
    is counted in `failures`, failed reads in a row (a dead broker must not look like no lag)."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str], read: Read, *,
                 timeout_s: float) -> None:
        self.name = name
        self._documentation = documentation
        self._labels = list(labels)
        self._read = read
        self._timeout_s = timeout_s
        self._samples: Samples = {}
        self.failures = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self._documentation, labels=self._labels)
        for values, value in sorted(self._samples.items()):
            family.add_metric(list(values), value)
        yield family

    async def refresh(self) -> bool:
        """Read once; True if the samples are fresh."""
        try:
            self._samples = await asyncio.wait_for(self._read(), self._timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._samples = {}
            self.failures += 1
            if self.failures == 1 or self.failures % 20 == 0:  # not a line per interval
                log.warning("metric not read", extra={"metric": self.name,
                                                      "error": type(error).__name__,
                                                      "failures": self.failures},
                            exc_info=self.failures == 1)
            return False
        self.failures = 0
        return True

    async def run(self, interval_s: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(interval_s)
