"""Service metrics at the HTTP edge."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from waterops.service.service_metrics import ServiceMetrics


class MetricRowPublic(BaseModel):
    """One figure: metric, key (stage, category or ""), value (None: nothing to measure),
    unit (``count``, ``d``, ``s``, ``1`` for a rate)."""

    metric: str
    key: str
    value: float | None
    unit: str


class ServiceMetricsPublic(BaseModel):
    """The service metrics read at ``at`` over records created in [start, end)."""

    at: datetime
    start: datetime | None
    end: datetime | None
    rows: list[MetricRowPublic]

    @classmethod
    def of(cls, m: ServiceMetrics) -> ServiceMetricsPublic:
        return cls(at=m.at, start=m.start, end=m.end,
                   rows=[MetricRowPublic(metric=r.metric, key=r.key, value=r.value,
                                         unit=r.unit) for r in m.rows])
