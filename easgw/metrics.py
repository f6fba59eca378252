"""``GET /metrics``: the process's numbers in the Prometheus text format (prometheus-client).

Per process, as Prometheus expects (each gateway process is scraped; sums are
the monitoring system's job), in a registry of the gateway's own (no module
globals, so several gateways in one test process do not mix):

- ``easgw_eas_requests_total{command, status}``: EAS POSTs answered, by command
  (one of MS-ASCMD's names, else ``other``) and HTTP status;
- ``easgw_conference_links_total{event}``: link events of this process
  (``created``, ``reused``, ``removed``, ``failed``, ``updated``; the registry's
  totals over every process: ``easgw links stats``);
- ``easgw_held_requests``: Pings and Sync Waits held now;
- ``easgw_mail_outbox{state}``: rows of the outbox by state (``queued``,
  ``sent``, ``failed``), read from the database at each scrape;
- ``easgw_change_notices_received_total``: changes heard from other processes
  over PostgreSQL LISTEN/NOTIFY (easgw/push/pg_bridge.py).

No user, device, address or subject ever appears in a label: the endpoint
answers without authentication, like ``/healthz`` (keep it off the public
listener, or behind the proxy, where that matters: docs/deployment.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from easgw.state.mail_models import OutboxMessage, OutboxState
from protocol.ashttp import Command

if TYPE_CHECKING:
    from easgw.gateway import Gateway

__all__ = ["CONTENT_TYPE", "Metrics"]

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_COMMANDS = frozenset(command.name for command in Command)
_LINK_EVENTS = ("created", "reused", "removed", "failed", "updated")


class _GatewayCollector(Collector):
    """The numbers read from the gateway's objects at each scrape."""

    def __init__(self, gateway: Gateway, outbox: dict[str, int]) -> None:
        self._gateway = gateway
        self._outbox = outbox

    def collect(self) -> Iterator[Metric]:
        links = CounterMetricFamily(
            "easgw_conference_links", "Conference-link events of this process", labels=["event"]
        )
        counters = self._gateway.conference.counters
        for event in _LINK_EVENTS:
            links.add_metric([event], getattr(counters, event, 0))
        yield links
        yield GaugeMetricFamily(
            "easgw_held_requests", "Pings and Sync Waits held now", value=len(self._gateway.hub)
        )
        outbox = GaugeMetricFamily("easgw_mail_outbox", "Outbox rows by state", labels=["state"])
        for state in OutboxState:
            outbox.add_metric([state.value], self._outbox.get(state.value, 0))
        yield outbox
        bridge = self._gateway.bridge
        yield CounterMetricFamily(
            "easgw_change_notices_received",
            "Store changes heard from other gateway processes (LISTEN/NOTIFY)",
            value=bridge.received if bridge is not None else 0,
        )


class Metrics:
    """The gateway's registry and the request counter the HTTP layer feeds."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.registry = CollectorRegistry()
        self._outbox: dict[str, int] = {}
        self._requests = Counter(
            "easgw_eas_requests",
            "EAS requests answered, by command and HTTP status",
            ["command", "status"],
            registry=self.registry,
        )
        self.registry.register(_GatewayCollector(gateway, self._outbox))

    def answered(self, command: str | None, status: int) -> None:
        """Count one EAS POST (an unknown or missing command is ``other``)."""
        name = command if command in _COMMANDS else "other"
        self._requests.labels(command=name, status=str(status)).inc()

    async def render(self) -> bytes:
        """The exposition text, the outbox counted now (kept from the last
        scrape when the database cannot say)."""
        try:
            async with self._gateway.database.sessions() as session:
                rows = await session.execute(
                    select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
                )
                counts = {str(state): int(count) for state, count in rows}
        except SQLAlchemyError:
            log.warning("metrics: the outbox could not be counted")
        else:
            self._outbox.clear()
            self._outbox.update(counts)
        data: bytes = generate_latest(self.registry)
        return data
