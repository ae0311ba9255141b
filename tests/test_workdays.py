"""Working-day SLA clocks: China's 2026 holidays and make-up days, pauses, warnings, breaches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from waterops.errors import CalendarError
from waterops.model.workdays import (
    HolidayCalendar,
    Pause,
    SlaState,
    add_working_seconds,
    sla_status,
    working_seconds_between,
)

CN = HolidayCalendar.china()
DAY = 86_400.0


def local(y: int, m: int, d: int, h: int = 0) -> datetime:
    """A Beijing wall-clock time as UTC (UTC+8, no daylight saving)."""
    return datetime(y, m, d, h, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),
        date(2026, 1, 2),
        date(2026, 2, 16),
        date(2026, 2, 20),
        date(2026, 2, 23),
        date(2026, 4, 6),
        date(2026, 5, 4),
        date(2026, 5, 5),
        date(2026, 6, 19),
        date(2026, 9, 25),
        date(2026, 10, 1),
        date(2026, 10, 7),
    ],
)
def test_2026_weekday_holidays_are_off(day: date) -> None:
    # State Council notice on the 2026 holidays (published November 2025)
    assert day.weekday() < 5
    assert not CN.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ],
)
def test_2026_make_up_weekend_days_are_worked(day: date) -> None:
    assert day.weekday() >= 5
    assert CN.is_working_day(day)


def test_ordinary_days() -> None:
    assert CN.is_working_day(date(2026, 11, 23))  # a Monday
    assert not CN.is_working_day(date(2026, 11, 22))  # a Sunday
    # 2027: statutory holidays known, make-up days added when the notice is out
    assert not CN.is_working_day(date(2027, 2, 8))  # Spring Festival
    patched = CN.with_overrides(make_up_days=[date(2027, 2, 20)])
    assert patched.is_working_day(date(2027, 2, 20)) and not CN.is_working_day(date(2027, 2, 20))


def test_working_time_across_the_spring_festival() -> None:
    # Friday 13 Feb 2026 12:00 -> Tuesday 24 Feb 12:00 local: 12 h of Friday, Saturday 14
    # (worked), 15-23 off, then 12 h of Tuesday: two working days
    used = working_seconds_between(local(2026, 2, 13, 12), local(2026, 2, 24, 12), CN)
    assert used == 2 * DAY
    assert add_working_seconds(local(2026, 2, 13, 12), 2 * DAY, CN) == local(2026, 2, 24, 12)


def test_add_and_measure_are_inverse() -> None:
    start = local(2026, 9, 18, 17)
    for days in (0.5, 1, 3, 10, 30):
        due = add_working_seconds(start, days * DAY, CN)
        assert working_seconds_between(start, due, CN) == pytest.approx(days * DAY)


def test_clock_states_and_pause() -> None:
    start = local(2026, 11, 23, 9)  # Monday
    assert sla_status(start, 3, local(2026, 11, 24, 9), CN).state == SlaState.ON_TRACK
    warn = sla_status(start, 3, local(2026, 11, 25, 10), CN)
    assert warn.state == SlaState.WARNING and warn.remaining_days == pytest.approx(23 / 24)
    breached = sla_status(start, 3, local(2026, 11, 26, 10), CN)
    assert breached.state == SlaState.BREACHED and breached.due_at == local(2026, 11, 26, 9)
    # a day waiting on the applicant moves the due date by one working day
    pauses = [Pause(local(2026, 11, 24, 9), local(2026, 11, 25, 9))]
    paused = sla_status(start, 3, local(2026, 11, 26, 10), CN, pauses=pauses)
    assert paused.state == SlaState.WARNING and paused.due_at == local(2026, 11, 27, 9)
    # an open pause: no due date while it lasts
    still = sla_status(
        start, 3, local(2026, 11, 30, 10), CN, pauses=[Pause(local(2026, 11, 24, 9))]
    )
    assert still.paused and still.due_at is None and still.used_days == 1.0
    met = sla_status(start, 3, local(2026, 12, 30), CN, stopped_at=local(2026, 11, 25, 9))
    assert met.state == SlaState.MET and met.used_days == 2.0


def test_naive_times_and_years_out_of_range_are_errors() -> None:
    with pytest.raises(CalendarError, match="no time zone"):
        working_seconds_between(datetime(2026, 1, 1), local(2026, 1, 2), CN)
    short = HolidayCalendar.china(2026, 2026)
    with pytest.raises(CalendarError, match="outside the holiday calendar"):
        add_working_seconds(local(2026, 12, 30), 5 * DAY, short)
