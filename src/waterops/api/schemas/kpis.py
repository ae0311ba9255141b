"""Key figures of the operations centre at the HTTP edge."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class KpisPublic(BaseModel):
    """The operations centre's headline figures (volumes in m³)."""

    time: datetime = Field(description="the utility's clock (the simulator's in the demo)")
    trunk_main_safe_days: float | None = Field(
        description="days since the last alarm or incident on the raw-water trunk main")
    delivered_today_m3: float | None = Field(
        description="water into the system since local midnight, from the source flow meters")
    delivered_total_m3: float | None = Field(
        description="water into the system since the records begin (source flow meters)")
    nrw_percent: float | None = Field(
        description="non-revenue water: (system input - billed) / system input [%]")
    nrw_input_m3: float | None
    nrw_billed_m3: float | None
    nrw_method: str = Field(description="how the NRW figure was estimated")
    open_alarms: int
    applications_in_progress: int = Field(description="connection applications not finished")
    complaints_today: int = Field(description="complaints received since local midnight")
