"""Totals that live in the database, read at scrape time by the one process serving /metrics: bots by mode and
status, open positions, equity and P&L by mode and quote currency, the task queue's depth, the worker's
heartbeat. One query each; a failing one leaves its metric out of the scrape and never fails it."""

import logging
import time
from collections import defaultdict
from decimal import Decimal

from prometheus_client.core import GaugeMetricFamily

from metrics.instruments import MODES, PREFIX, _bounded

log = logging.getLogger(__name__)


def _currency(symbol: str) -> str:
    quote = (symbol or "").split("/")[-1].split(":")[0].strip().lower()
    return _bounded(quote)


class DatabaseCollector:
    """A prometheus_client custom collector (registered only in the scrape's registry, never in a worker)."""

    def describe(self):
        return []

    def collect(self):
        for part in (self._bots, self._positions, self._equity, self._queue, self._worker):
            try:
                yield from part()
            except Exception:
                log.warning("metrics: the %s collector failed", part.__name__.lstrip("_"), exc_info=True)

    def _bots(self):
        from django.db.models import Count

        from bots.models import Bot

        by_status = GaugeMetricFamily(f"{PREFIX}_bots", "Strategy bots (not archived) by mode and status.",
                                      labels=["mode", "status"])
        running = GaugeMetricFamily(f"{PREFIX}_bots_running", "Bots running (or halted: still ticking) by mode.",
                                    labels=["mode"])
        counts = defaultdict(int)
        for row in (Bot.objects.listed().values("mode", "status").annotate(n=Count("id")).order_by()):
            counts[(_bounded(row["mode"], MODES), _bounded(row["status"]))] += row["n"]
        for (mode, status), n in sorted(counts.items()):
            by_status.add_metric([mode, status], n)
        for mode in sorted(Bot.Mode.values):
            running.add_metric([mode], sum(n for (m, s), n in counts.items()
                                           if m == mode and s in ("running", "halted")))
        yield by_status
        yield running

    def _positions(self):
        from django.db.models import Count

        from bots.models import Position

        family = GaugeMetricFamily(f"{PREFIX}_open_positions", "Open positions by mode (bots and manual books).",
                                   labels=["mode"])
        counts = dict.fromkeys(["live", "manual", "paper", "replay"], 0)
        rows = Position.objects.filter(status=Position.Status.OPEN).values("bot__mode", "bot__kind")
        for row in rows.annotate(n=Count("id")).order_by():
            mode = "manual" if row["bot__kind"] == "manual" else _bounded(row["bot__mode"], MODES)
            counts[mode] = counts.get(mode, 0) + row["n"]
        for mode, n in sorted(counts.items()):
            family.add_metric([mode], n)
        yield family

    def _equity(self):
        from django.db.models import OuterRef, Subquery

        from bots.models import Bot, PnLSnapshot

        newest = PnLSnapshot.objects.filter(bot=OuterRef("pk")).order_by("-time", "-id").values("equity")[:1]
        rows = (Bot.objects.filter(kind=Bot.Kind.STRATEGY, archived_at__isnull=True)
                .annotate(equity=Subquery(newest)).values_list("mode", "symbol", "starting_balance", "equity"))
        equity, pnl = defaultdict(Decimal), defaultdict(Decimal)
        for mode, symbol, start, value in rows:
            key = (_bounded(mode, MODES), _currency(symbol))
            value = start if value is None else value
            equity[key] += value or 0
            pnl[key] += (value or 0) - (start or 0)
        equity_family = GaugeMetricFamily(f"{PREFIX}_equity", "Equity of the bots by mode, in their quote currency.",
                                          labels=["mode", "currency"])
        pnl_family = GaugeMetricFamily(f"{PREFIX}_pnl", "Equity minus starting balance of the bots, by mode.",
                                       labels=["mode", "currency"])
        for key in sorted(equity):
            equity_family.add_metric(list(key), float(equity[key]))
            pnl_family.add_metric(list(key), float(pnl[key]))
        yield equity_family
        yield pnl_family

    def _queue(self):
        from django_q.brokers import get_broker

        family = GaugeMetricFamily(f"{PREFIX}_task_queue_depth", "Tasks waiting in the django-q2 queue.")
        family.add_metric([], get_broker().queue_size() or 0)
        yield family

    def _worker(self):
        from django_q.brokers import get_broker
        from django_q.status import Stat

        stats = Stat.get_all(broker=get_broker()) or []
        clusters = GaugeMetricFamily(f"{PREFIX}_worker_clusters", "django-q2 clusters with a fresh heartbeat.")
        clusters.add_metric([], len(stats))
        yield clusters
        age = GaugeMetricFamily(f"{PREFIX}_worker_heartbeat_age_seconds",
                                "Seconds since the freshest worker heartbeat (absent: no worker).")
        stamps = [s.timestamp.timestamp() for s in stats if getattr(s, "timestamp", None) is not None]
        if stamps:
            age.add_metric([], max(0.0, time.time() - max(stamps)))
        yield age
