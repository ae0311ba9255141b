"""SLA clocks in working days: China's public holidays and make-up working days (调休).

A service promise such as "acceptance and site survey within 3 working days" is measured on
the utility's local calendar (Asia/Shanghai): a *working day* is a weekday that is not a public
holiday, or a weekend day the State Council declares a make-up working day (调休上班). The clock
runs only on working days, and stops while the application waits on the applicant (a pause).

Time on the clock is kept in working seconds: one working day is 86 400 s of a working
calendar day, so a stage begun on Friday 15:00 with one working day is due on Monday 15:00
(or later if Monday is a holiday). This keeps clocks continuous (a warning can fire at any
hour) and exact to the second.

The holiday data come from the ``holidays`` package (``holidays.China``), which carries each
year's State Council arrangement once it is published (2026: notice of November 2025 — New Year
1–3 January with 4 January worked, Spring Festival 15–23 February with 14 and 28 February
worked, Labour Day 1–5 May with 9 May worked, National Day 1–7 October with 20 September and
10 October worked). A year whose arrangement is not yet published (2027 at the time of
writing) has only its statutory holidays; :meth:`HolidayCalendar.with_overrides` adds the
make-up days when the notice comes out, without waiting for a package release.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from holidays.countries.china import China

from waterops.errors import CalendarError

LOCAL_TIMEZONE = ZoneInfo("Asia/Shanghai")
"""The utility's local time zone, in which working days are counted."""

WORKING_DAY_S = 86_400.0
"""Length of one working day on the SLA clock [s]."""

FIRST_YEAR = 2020
LAST_YEAR = 2035
"""Years the calendar covers; a clock reaching outside them is an error, not a guess."""


@dataclass(frozen=True)
class HolidayCalendar:
    """Days off and make-up working days of the utility's calendar.

    Parameters
    ----------
    days_off : weekday dates that are not worked (public holidays and their bridges)
    make_up_days : weekend dates that are worked (调休上班)
    first_year, last_year : years the data cover (inclusive)
    """

    days_off: frozenset[date]
    make_up_days: frozenset[date]
    first_year: int = FIRST_YEAR
    last_year: int = LAST_YEAR

    @classmethod
    def china(cls, first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> HolidayCalendar:
        """Mainland China's calendar from the ``holidays`` package."""
        years = range(first_year, last_year + 1)
        cn = China(years=years)  # type: ignore[no-untyped-call]
        make_up = frozenset(d for d in cn.weekend_workdays if first_year <= d.year <= last_year)
        return cls(frozenset(cn.keys()), make_up, first_year, last_year)

    def with_overrides(
        self, days_off: Iterable[date] = (), make_up_days: Iterable[date] = ()
    ) -> HolidayCalendar:
        """A copy with more days off and make-up working days (e.g. a new year's notice)."""
        extra_off, extra_work = frozenset(days_off), frozenset(make_up_days)
        return HolidayCalendar(
            (self.days_off | extra_off) - extra_work,
            (self.make_up_days | extra_work) - extra_off,
            self.first_year,
            self.last_year,
        )

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a local date) is worked."""
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarError(
                f"{day.isoformat()} is outside the holiday calendar "
                f"({self.first_year}-{self.last_year})"
            )
        if day in self.make_up_days:
            return True
        return day.weekday() < 5 and day not in self.days_off


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TIMEZONE)


def _check_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise CalendarError(f"time {moment.isoformat()} has no time zone; give UTC")


def working_seconds_between(start: datetime, end: datetime, calendar: HolidayCalendar) -> float:
    """Working time between two instants [s] (0 when ``end`` is not after ``start``)."""
    _check_aware(start, end)
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(LOCAL_TIMEZONE).date()
    last_day = end.astimezone(LOCAL_TIMEZONE).date()
    while day <= last_day:
        if calendar.is_working_day(day):
            lo = max(start, _local_midnight(day))
            hi = min(end, _local_midnight(day + timedelta(days=1)))
            total += max(0.0, (hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


def add_working_seconds(start: datetime, seconds: float, calendar: HolidayCalendar) -> datetime:
    """The instant when ``seconds`` of working time have passed since ``start`` (UTC)."""
    _check_aware(start)
    remaining = max(0.0, seconds)
    moment = start.astimezone(LOCAL_TIMEZONE)
    while True:
        day = moment.date()
        day_end = _local_midnight(day + timedelta(days=1))
        if calendar.is_working_day(day):
            available = (day_end - moment).total_seconds()
            if remaining <= available:
                return (moment + timedelta(seconds=remaining)).astimezone(UTC)
            remaining -= available
        moment = day_end


class SlaState(enum.StrEnum):
    """Where a clock stands against its promise."""

    ON_TRACK = "on_track"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    """The stage ended within its promise."""


@dataclass(frozen=True)
class Pause:
    """A span when the clock stood still (waiting on the applicant); ``end`` None: still paused."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class SlaStatus:
    """One clock read at one instant.

    Attributes
    ----------
    budget_days : the promise [working days]
    used_days : working time used, pauses excluded [working days]
    due_at : when the promise runs out if nothing more pauses it (UTC); None while paused
    state : on track, warning, breached, or met (clock stopped in time)
    paused : whether the clock stands still now
    """

    budget_days: float
    used_days: float
    due_at: datetime | None
    state: SlaState
    paused: bool = False
    pauses: tuple[Pause, ...] = field(default=())

    @property
    def remaining_days(self) -> float:
        """Working days left before a breach (negative once breached) [working days]."""
        return self.budget_days - self.used_days


def sla_status(
    started_at: datetime,
    budget_days: float,
    now: datetime,
    calendar: HolidayCalendar,
    *,
    pauses: Iterable[Pause] = (),
    stopped_at: datetime | None = None,
    warn_before_days: float = 1.0,
) -> SlaStatus:
    """Read an SLA clock.

    Parameters
    ----------
    started_at : when the clock started (the stage began) [UTC]
    budget_days : the promise [working days]
    now : the instant to read it at [UTC]
    calendar : working days and holidays
    pauses : spans when the clock stood still; an open one (``end`` None) lasts until ``now``
    stopped_at : when the stage ended, if it has (the clock stops there: met or breached)
    warn_before_days : warn when fewer working days than this remain [working days]; for
        budgets shorter than twice this, the warning comes at half the budget
    """
    _check_aware(started_at, now)
    end = stopped_at if stopped_at is not None and stopped_at < now else now
    pauses = tuple(pauses)
    paused_s = 0.0
    paused_now = False
    for pause in pauses:
        pause_end = end if pause.end is None or pause.end > end else pause.end
        paused_now = paused_now or (pause.end is None and stopped_at is None)
        paused_s += working_seconds_between(max(pause.start, started_at), pause_end, calendar)
    used_s = working_seconds_between(started_at, end, calendar) - paused_s
    budget_s = budget_days * WORKING_DAY_S
    due_at = None if paused_now else add_working_seconds(started_at, budget_s + paused_s, calendar)
    warn_s = min(warn_before_days * WORKING_DAY_S, budget_s / 2)
    if used_s > budget_s:
        state = SlaState.BREACHED
    elif stopped_at is not None and stopped_at <= now:
        state = SlaState.MET
    elif used_s >= budget_s - warn_s:
        state = SlaState.WARNING
    else:
        state = SlaState.ON_TRACK
    return SlaStatus(budget_days, used_s / WORKING_DAY_S, due_at, state, paused_now, pauses)
