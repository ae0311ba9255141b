"""Service metrics: how the utility keeps its promises, as a table that exports to CSV.

One read over the stores: connection applications (per stage, median days from application
to water on, SLA breaches from the stage clocks), complaints (per category, median time from
arrival to the logged callback, satisfaction from the surveys) and the enterprise service
(rectification and satisfaction rates). Counted over records created in [start, end) when a
period is given. Each figure is one row: metric, key (a stage, a category, or empty), value
and unit, so a spreadsheet reads the export as it is.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from waterops.errors import PermissionDeniedError
from waterops.model.accounts import User
from waterops.model.complaints import ComplaintCategory
from waterops.model.connections import ConnectionState
from waterops.model.enterprises import METRICS_ROLES, SATISFIED_SCORE, service_rates
from waterops.model.workdays import HolidayCalendar, SlaState
from waterops.service.connections import application_sla
from waterops.service.enterprise_service import utc_now
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.connections_store import ConnectionsStore
from waterops.store.enterprises_store import EnterprisesStore

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class MetricRow:
    """One figure: ``metric`` (``applications_per_stage`` …), ``key`` (a stage, a category or
    ""), ``value`` (None when there is nothing to measure) and its ``unit``."""

    metric: str
    key: str
    value: float | None
    unit: str


@dataclass(frozen=True)
class ServiceMetrics:
    """The service metrics read at ``at`` over records created in [start, end)."""

    at: datetime
    start: datetime | None
    end: datetime | None
    rows: tuple[MetricRow, ...]

    def value(self, metric: str, key: str = "") -> float | None:
        """The value of one row (KeyError when there is no such row)."""
        for row in self.rows:
            if row.metric == metric and row.key == key:
                return row.value
        raise KeyError((metric, key))

    def to_csv(self) -> str:
        """The rows as CSV text (header ``metric,key,value,unit``; empty value: none)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["metric", "key", "value", "unit"])
        for row in self.rows:
            writer.writerow([row.metric, row.key,
                             "" if row.value is None else f"{row.value:.6g}", row.unit])
        return out.getvalue()


def _median(values: Iterable[float]) -> float | None:
    items = list(values)
    return statistics.median(items) if items else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _within(when: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or when >= start) and (end is None or when < end)


class ServiceMetricsService:
    """Reads the service metrics from the stores.

    Parameters
    ----------
    connections : connection applications and their timelines
    complaints : complaints with their callbacks and surveys
    enterprises : enterprise problems
    calendar : working days of the SLA clocks
    clock : now, aware UTC
    """

    def __init__(self, connections: ConnectionsStore, complaints: ComplaintsStore,
                 enterprises: EnterprisesStore, calendar: HolidayCalendar, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.connections = connections
        self.complaints = complaints
        self.enterprises = enterprises
        self.calendar = calendar
        self.clock = clock

    def metrics(self, user: User, *, start: datetime | None = None,
                end: datetime | None = None) -> ServiceMetrics:
        """Every metric (administrators, dispatchers, service agents)."""
        if not user.active or user.role not in METRICS_ROLES:
            raise PermissionDeniedError(user.username, "read service metrics", "metrics")
        now = self.clock()
        rows = (self._connection_rows(now, start, end) + self._complaint_rows(start, end)
                + self._enterprise_rows(start, end))
        return ServiceMetrics(now, start, end, tuple(rows))

    def _connection_rows(self, now: datetime, start: datetime | None, end: datetime | None
                         ) -> list[MetricRow]:
        apps, _ = self.connections.applications()
        apps = [a for a in apps if _within(a.created_at, start, end)]
        per_stage = Counter(a.state for a in apps)
        rows = [MetricRow("applications_per_stage", s.value, float(per_stage[s]), "count")
                for s in ConnectionState]
        days = [(a.water_on_at - a.created_at).total_seconds() / SECONDS_PER_DAY
                for a in apps if a.water_on_at is not None]
        rows.append(MetricRow("median_days_to_water_on", "", _median(days), "d"))
        rows.append(MetricRow("applications_watered_on", "", float(len(days)), "count"))
        breached_apps, breached_stages = 0, Counter[str]()
        timelines = self.connections.timelines()  # one query, not one per application
        for app in apps:
            sla = application_sla(app, timelines.get(app.id, []), now, self.calendar)
            breached_apps += sla.breached
            for clock in sla.stages:
                if clock.status.state == SlaState.BREACHED:
                    breached_stages[clock.stage.value] += 1
        rows.append(MetricRow("sla_breached_applications", "", float(breached_apps), "count"))
        rows += [MetricRow("sla_breached_stages", stage, float(n), "count")
                 for stage, n in sorted(breached_stages.items())]
        return rows

    def _complaint_rows(self, start: datetime | None, end: datetime | None) -> list[MetricRow]:
        found, _ = self.complaints.complaints()
        items = [c for c in found if _within(c.received_at, start, end)]
        per_category = Counter(c.category for c in items)
        rows = [MetricRow("complaints_per_category", c.value, float(per_category[c]), "count")
                for c in ComplaintCategory]
        waits = [(c.callback.done_at - c.received_at).total_seconds() for c in items
                 if c.callback is not None and c.callback.done_at is not None]
        rows.append(MetricRow("median_time_to_callback", "", _median(waits), "s"))
        rows.append(MetricRow("callbacks_logged", "", float(len(waits)), "count"))
        scores = [c.survey.score for c in items if c.survey is not None]
        satisfied = sum(s >= SATISFIED_SCORE for s in scores)
        rows.append(MetricRow("complaint_satisfaction_rate", "",
                              _share(satisfied, len(scores)), "1"))
        rows.append(MetricRow("complaint_surveys", "", float(len(scores)), "count"))
        return rows

    def _enterprise_rows(self, start: datetime | None, end: datetime | None
                         ) -> list[MetricRow]:
        rates = service_rates(self.enterprises.problems(raised_from=start, raised_until=end))
        return [
            MetricRow("enterprise_problems_raised", "", float(rates.problems_raised), "count"),
            MetricRow("enterprise_problems_rectified", "", float(rates.problems_rectified),
                      "count"),
            MetricRow("enterprise_rectification_rate", "", rates.rectification_rate, "1"),
            MetricRow("enterprise_satisfaction_rate", "", rates.satisfaction_rate, "1"),
        ]
