"""Enterprise one-to-one service: accounts, visits, problems to closure, consumption, advice.

The account manager (a service agent) registers an enterprise with its meters, records each
visit with its topics and the problems raised, and moves the problems through their declared
state machine (:mod:`waterops.model.enterprises`). Rectification and satisfaction rates are
counted per manager, park and period.

Consumption analysis reads the enterprise's meters (flow, m³/s) from the telemetry store as
hourly means and looks at them in local time (Asia/Shanghai): the daily volumes, the mean
flow of each hour of the day, the night flow between 02:00 and 04:00 (夜间最小流量, when
little but leakage runs) against the night use the enterprise justifies, and how its use per
unit (output, employee, or day) ranks among peers of the same industry. Savings advice turns
the findings into yuan per year with the enterprise's tariff, each item with its reasoning.

The core gives the facts, the edge gives the words: each advice item and the leak hint carry
an :class:`AdviceMessage` (a stable key the portal translates) and its figures in SI units,
beside an English sentence for API clients and the command line.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from waterops.errors import (
    EnterpriseError,
    PermissionDeniedError,
    RecordNotFoundError,
    TariffError,
    UnknownSensorError,
)
from waterops.model.accounts import Role, User
from waterops.model.enterprises import (
    ACCOUNT_MANAGER_ROLES,
    ENTERPRISE_READ_ALL_ROLES,
    Enterprise,
    Problem,
    ProblemAction,
    ProblemState,
    ServiceRates,
    Visit,
    can_read,
    check_satisfaction,
    next_problem_state,
    service_rates,
)
from waterops.model.tariffs import (
    DAYS_PER_YEAR,
    MONTHS_PER_YEAR,
    BillingPeriod,
    CustomerClass,
    QuotaTariff,
    Tariff,
    TariffBook,
    demo_tariff_book,
    parse_tariff_book,
    to_fen,
)
from waterops.model.telemetry import Quantity
from waterops.model.utility import CustomerKind, UtilityLayout
from waterops.store.accounts_store import to_us
from waterops.store.enterprises_store import (
    EnterprisesStore,
    EnterprisesTransaction,
    ProblemEvent,
)
from waterops.store.telemetry_store import TelemetryStore

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""Local time of the utility: days, hours and the night window are read in it."""
NIGHT_HOURS = (2, 3)
"""Local hours whose flow is the night flow (02:00-04:00)."""
HOUR_S = 3600
MAX_WINDOW = timedelta(days=366)
"""Longest consumption-analysis window (a year of hourly means)."""
SECONDS_PER_DAY = 86_400


def load_tariff_book(path: Path | None = None) -> TariffBook:
    """The tariff book in the TOML file ``path`` (None: the documented demo book)."""
    if path is None:
        return demo_tariff_book()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TariffError(f"{path}: cannot read the tariff book: {exc}") from None
    return parse_tariff_book(text, str(path))


TARIFF_FILE_ENV = "WATEROPS_TARIFF_FILE"
"""Environment variable naming the utility's tariff book (TOML); unset: the demo book."""


def configured_tariff_book(env: Mapping[str, str] | None = None) -> TariffBook:
    """The tariff book named by ``WATEROPS_TARIFF_FILE`` in ``env`` (default: the process
    environment, read now), else the demo book."""
    name = (os.environ if env is None else env).get(TARIFF_FILE_ENV)
    return load_tariff_book(Path(name) if name else None)


def utc_now() -> datetime:
    """Now, aware UTC."""
    return datetime.now(UTC)


# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseDraft:
    """A new enterprise account (see :class:`waterops.model.enterprises.Enterprise`)."""

    account_id: str
    name: str
    industry: str
    park_id: str | None = None
    manager_id: int | None = None
    customer_user_id: int | None = None
    tariff_name: str | None = None
    meter_sensor_ids: tuple[str, ...] = ()
    justified_night_flow_m3s: float = 0.0
    employees: int | None = None
    output_per_day: float | None = None
    output_unit: str = ""


@dataclass(frozen=True)
class ProblemDraft:
    """A problem the enterprise raised."""

    title: str
    description: str = ""


@dataclass(frozen=True)
class VisitDraft:
    """A visit of the account manager: local date, topics, notes and the problems raised."""

    visited_on: date
    topics: tuple[str, ...]
    notes: str = ""
    problems: tuple[ProblemDraft, ...] = ()


@dataclass(frozen=True)
class NightFlowRule:
    """When night flow hints at a leak.

    A hint needs both: night flow above the justified night use by more than
    ``excess_threshold_m3s`` [m³/s] (default 0.1 L/s, 8.6 m³/day), and night flow at least
    ``ratio_threshold`` of the average flow [-] (a plant that stops at night drops far below).
    """

    excess_threshold_m3s: float = 1.0e-4
    ratio_threshold: float = 0.3


# -- results --------------------------------------------------------------------------------------

Figures = Mapping[str, float | str]
"""The figures of a message by name: flows ``*_m3s`` [m³/s], volumes ``*_m3`` and
``*_m3_per_year`` [m³], money ``*_yuan_per_year`` [yuan/year], shares and ratios [0-1],
names (``tariff``, ``period``) as text."""


class AdviceMessage(enum.StrEnum):
    """What an advice sentence or the leak hint says, a stable key for the words of the edge.

    ``night_flow_leak`` / ``night_flow_ok``: the night-flow finding (the leak hint);
    ``leak_repair`` / ``leak_none``: the leak item with or without a hint; ``reuse``;
    ``shifting_no_quota`` / ``shifting_within_quota`` / ``shifting_over_quota``: the surcharge
    over the quota (超定额累进加价) and whether moving use in time avoids it.
    """

    NIGHT_FLOW_LEAK = "night_flow_leak"
    NIGHT_FLOW_OK = "night_flow_ok"
    LEAK_REPAIR = "leak_repair"
    LEAK_NONE = "leak_none"
    REUSE = "reuse"
    SHIFTING_NO_QUOTA = "shifting_no_quota"
    SHIFTING_WITHIN_QUOTA = "shifting_within_quota"
    SHIFTING_OVER_QUOTA = "shifting_over_quota"



@dataclass(frozen=True)
class DailyVolume:
    """Volume used on one local day [m³] from ``hours`` hourly means."""

    day: date
    volume_m3: float
    hours: int


@dataclass(frozen=True)
class PeerComparison:
    """Where the enterprise's use per unit ranks among peers of its industry.

    ``basis`` is ``output`` (m³ per unit of output), ``employee`` (m³ per employee per day)
    or ``day`` (m³ per day); ``percentile`` is the share of peers using less per unit
    [0-100] (ties count half), None without peers.
    """

    industry: str
    basis: str
    value_m3_per_unit: float
    peers: int
    peer_median_m3_per_unit: float | None
    percentile: float | None


@dataclass(frozen=True)
class ConsumptionAnalysis:
    """Consumption of an enterprise over [start, end).

    Flows in m³/s, volumes in m³; ``hourly_profile_m3s`` is the mean flow of each local hour
    of the day 0-23 (None where no reading fell). ``leak_reasoning`` says the night-flow finding
    in English; ``leak_message`` and ``leak_figures`` give it as a key and its figures
    (:func:`night_flow_figures`).
    """

    enterprise_id: int
    start: datetime
    end: datetime
    daily: tuple[DailyVolume, ...]
    hourly_profile_m3s: tuple[float | None, ...]
    average_flow_m3s: float
    night_flow_m3s: float
    justified_night_flow_m3s: float
    night_ratio: float
    leak_hint: bool
    leak_reasoning: str
    peers: PeerComparison
    leak_message: AdviceMessage
    leak_figures: Figures

    @property
    def mean_daily_volume_m3(self) -> float:
        """Mean volume per day [m³/day] (from the average flow)."""
        return self.average_flow_m3s * SECONDS_PER_DAY

    @property
    def excess_night_flow_m3s(self) -> float:
        """Night flow above the justified night use [m³/s] (never negative)."""
        return max(0.0, self.night_flow_m3s - self.justified_night_flow_m3s)


@dataclass(frozen=True)
class SavingsItem:
    """One piece of advice: ``kind`` (``leak``, ``reuse``, ``shifting``), water saved
    [m³/year], money saved [yuan/year], the reasoning in English, and the same as a message
    key with its figures (see :data:`Figures`) for the edge to word."""

    kind: str
    volume_m3_per_year: float
    yuan_per_year: float
    reasoning: str
    message: AdviceMessage
    figures: Figures


@dataclass(frozen=True)
class SavingsAdvice:
    """Savings advice for an enterprise, items applied one after the other (so they add up)."""

    enterprise_id: int
    tariff: str
    annual_volume_m3: float
    annual_cost_yuan: float
    items: tuple[SavingsItem, ...]
    analysis: ConsumptionAnalysis = field(repr=False)

    @property
    def total_yuan_per_year(self) -> float:
        """Sum of the items [yuan/year]."""
        return to_fen(sum(i.yuan_per_year for i in self.items))


UPDATABLE_FIELDS = frozenset(f.name for f in fields(EnterpriseDraft)) - {"account_id"}
"""What an account manager may change on an enterprise's record."""
REQUIRED_FIELDS = frozenset({"name", "industry", "meter_sensor_ids", "justified_night_flow_m3s",
                             "output_unit"})
"""Fields an enterprise always has (a change may not clear them)."""


def _columns(draft: EnterpriseDraft) -> dict[str, Any]:
    """The ``enterprises`` columns of a draft (its meters go to their own table)."""
    return {f.name: getattr(draft, f.name) for f in fields(EnterpriseDraft)
            if f.name != "meter_sensor_ids"}


def _draft_of(e: Enterprise) -> EnterpriseDraft:
    return EnterpriseDraft(
        account_id=e.account_id, name=e.name, industry=e.industry, park_id=e.park_id,
        manager_id=e.manager_id, customer_user_id=e.customer_user_id,
        tariff_name=e.tariff_name, meter_sensor_ids=e.meter_sensor_ids,
        justified_night_flow_m3s=e.justified_night_flow_m3s, employees=e.employees,
        output_per_day=e.output_per_day, output_unit=e.output_unit)


# -- the virtual utility's enterprises ----------------------------------------------------------

DEMO_PARK_ID = "PARK-1"
DEMO_INDUSTRIES = ("electronics", "food processing", "textiles")
"""Industries handed out in turn to the demo park's enterprises (so each has peers)."""


def enterprise_drafts(layout: UtilityLayout, *, park_id: str = DEMO_PARK_ID,
                      industries: Sequence[str] = DEMO_INDUSTRIES) -> list[EnterpriseDraft]:
    """Drafts of the enterprise accounts of a utility layout, each with the AMR flow sensors
    [m³/s] at its node, in the industrial park ``park_id``."""
    drafts = []
    enterprises = [c for c in layout.customers if c.kind == CustomerKind.ENTERPRISE]
    for i, customer in enumerate(enterprises):
        meters = tuple(s.id for s in layout.sensors
                       if s.quantity == Quantity.FLOW and s.element_kind == "node"
                       and s.element_id == customer.node)
        drafts.append(EnterpriseDraft(customer.account_id, customer.name,
                                      industries[i % len(industries)], park_id=park_id,
                                      meter_sensor_ids=meters))
    return drafts


# -- pure analysis --------------------------------------------------------------------------------


def combined_hourly_flow(frames: Sequence[pd.DataFrame]) -> pd.Series:
    """Sum of several meters' hourly mean flows [m³/s], on the hours all of them report.

    Each frame is a :meth:`TelemetryStore.resample` result (``time`` UTC, ``mean``).
    """
    if not frames:
        return pd.Series(dtype=float)
    series = [pd.Series(f["mean"].to_numpy(dtype=float), index=pd.DatetimeIndex(f["time"]))
              for f in frames]
    if len(series) == 1:  # most enterprises have one meter: no join to make
        return series[0]
    both = pd.concat(series, axis=1, join="inner")
    total: pd.Series = both.sum(axis=1)
    return total


def night_flow_figures(average_m3s: float, night_m3s: float, justified_m3s: float,
                       rule: NightFlowRule) -> dict[str, float]:
    """The figures of the night-flow finding: flows [m³/s], the night ratio and its threshold
    [-]."""
    return {
        "night_flow_m3s": night_m3s,
        "average_flow_m3s": average_m3s,
        "night_ratio": night_m3s / average_m3s if average_m3s > 0 else 0.0,
        "justified_night_flow_m3s": justified_m3s,
        "excess_night_flow_m3s": max(0.0, night_m3s - justified_m3s),
        "excess_threshold_m3s": rule.excess_threshold_m3s,
        "ratio_threshold": rule.ratio_threshold,
    }


def night_flow_finding(average_m3s: float, night_m3s: float, justified_m3s: float,
                       rule: NightFlowRule) -> tuple[bool, str]:
    """Whether the night flow hints at a leak, and why in English (figures in L/s)."""
    figures = night_flow_figures(average_m3s, night_m3s, justified_m3s, rule)
    ratio, excess = figures["night_ratio"], figures["excess_night_flow_m3s"]
    hint = excess > rule.excess_threshold_m3s and ratio >= rule.ratio_threshold
    text = (
        f"night flow 02:00-04:00 {night_m3s * 1e3:.2f} L/s is {ratio:.0%} of the average "
        f"{average_m3s * 1e3:.2f} L/s; justified night use {justified_m3s * 1e3:.2f} L/s, "
        f"excess {excess * 1e3:.2f} L/s (hint above {rule.excess_threshold_m3s * 1e3:.2f} L/s "
        f"and {rule.ratio_threshold:.0%})"
    )
    return hint, ("possible leak: " if hint else "no leak hint: ") + text


def percentile_among(value: float, peers: Sequence[float]) -> float | None:
    """Share of ``peers`` below ``value`` [0-100], ties counting half; None without peers."""
    if not peers:
        return None
    below = sum(p < value for p in peers)
    equal = sum(p == value for p in peers)
    return 100.0 * (below + 0.5 * equal) / len(peers)


def _per_unit(enterprise: Enterprise, daily_m3: float, basis: str) -> float | None:
    if basis == "output":
        return daily_m3 / enterprise.output_per_day if enterprise.output_per_day else None
    if basis == "employee":
        return daily_m3 / enterprise.employees if enterprise.employees else None
    return daily_m3


def basis_of(enterprise: Enterprise) -> str:
    """The unit consumption is compared by: output if given, else employees, else days."""
    if enterprise.output_per_day:
        return "output"
    if enterprise.employees:
        return "employee"
    return "day"


# -- the service ----------------------------------------------------------------------------------


class EnterpriseService:
    """The enterprise-service use cases.

    Parameters
    ----------
    store : enterprise records
    telemetry : the telemetry store holding the meters' readings
    tariffs : the tariff book (default: the demo book)
    clock : now, aware UTC (tests move it by hand)
    night_rule : when night flow hints at a leak
    """

    def __init__(self, store: EnterprisesStore, telemetry: TelemetryStore, *,
                 tariffs: TariffBook | None = None, clock: Callable[[], datetime] = utc_now,
                 night_rule: NightFlowRule | None = None) -> None:
        self.store = store
        self.telemetry = telemetry
        self.tariffs = tariffs or demo_tariff_book()
        self.clock = clock
        self.night_rule = night_rule or NightFlowRule()

    # -- checks ---------------------------------------------------------------------------------

    @staticmethod
    def _require_manager(user: User, action: str) -> None:
        if not user.active or user.role not in ACCOUNT_MANAGER_ROLES:
            raise PermissionDeniedError(user.username, action, "enterprise service")

    def get(self, user: User, enterprise_id: int) -> Enterprise:
        """An enterprise ``user`` may see (another customer's is "not found")."""
        enterprise = self.store.enterprise(enterprise_id)
        if not can_read(user, enterprise):
            raise RecordNotFoundError("enterprise", enterprise_id)
        return enterprise

    def by_account(self, user: User, account_id: str) -> Enterprise:
        """The enterprise of customer account ``account_id``, if ``user`` may see it."""
        enterprise = self.store.by_account(account_id)
        if not can_read(user, enterprise):
            raise RecordNotFoundError("enterprise account", account_id)
        return enterprise

    def tariff_of(self, enterprise: Enterprise) -> Tariff:
        """The tariff the enterprise is billed on (its own, else the non-household default)."""
        if enterprise.tariff_name:
            return self.tariffs.get(enterprise.tariff_name)
        return self.tariffs.default_for(CustomerClass.NON_HOUSEHOLD)

    # -- accounts, visits, problems -------------------------------------------------------------

    def _check_draft(self, tx: EnterprisesTransaction, draft: EnterpriseDraft) -> None:
        if draft.tariff_name is not None:
            self.tariffs.get(draft.tariff_name)
        if draft.justified_night_flow_m3s < 0:
            raise EnterpriseError(f"enterprise {draft.account_id}: negative justified night flow")
        if draft.manager_id is not None and \
                tx.user_role(draft.manager_id) not in ACCOUNT_MANAGER_ROLES:
            raise EnterpriseError(f"enterprise {draft.account_id}: account manager "
                                  f"{draft.manager_id} is not a service agent's account")
        if draft.customer_user_id is not None and \
                tx.user_role(draft.customer_user_id) != Role.ENTERPRISE_CUSTOMER:
            raise EnterpriseError(f"enterprise {draft.account_id}: user "
                                  f"{draft.customer_user_id} is not an enterprise customer")

    def register(self, user: User, draft: EnterpriseDraft) -> Enterprise:
        """Register an enterprise account with its meters (account managers)."""
        self._require_manager(user, "register an enterprise")
        now = self.clock()
        values = _columns(draft)
        with self.store.transaction() as tx:
            self._check_draft(tx, draft)
            new_id = tx.insert_enterprise(values, draft.meter_sensor_ids, now)
            tx.add_audit(now, user, "enterprise_register", "enterprise", new_id,
                         after={**values, "meters": list(draft.meter_sensor_ids)})
            return tx.enterprise(new_id)

    def update(self, user: User, enterprise_id: int, changes: Mapping[str, Any]) -> Enterprise:
        """Change an enterprise's record (manager, tariff, meters, night use …), audited with
        its before and after (account managers). The account id does not change."""
        self._require_manager(user, "change an enterprise")
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise EnterpriseError(f"enterprise {enterprise_id}: cannot change "
                                  f"{', '.join(sorted(unknown))}")
        cleared = {k for k, v in changes.items() if v is None} & REQUIRED_FIELDS
        if cleared:
            raise EnterpriseError(f"enterprise {enterprise_id}: "
                                  f"{', '.join(sorted(cleared))} cannot be empty")
        now = self.clock()
        with self.store.transaction() as tx:
            before = tx.enterprise(enterprise_id)
            draft = replace(_draft_of(before), **changes)
            self._check_draft(tx, draft)
            meters = draft.meter_sensor_ids if "meter_sensor_ids" in changes else None
            tx.update_enterprise(enterprise_id, _columns(draft), meters)
            after = tx.enterprise(enterprise_id)
            tx.add_audit(now, user, "enterprise_update", "enterprise", enterprise_id,
                         before={k: getattr(before, k) for k in changes},
                         after={k: getattr(after, k) for k in changes})
            return after

    def visible(self, user: User, *, limit: int | None = None, offset: int = 0
                ) -> tuple[list[Enterprise], int]:
        """A page of the enterprises ``user`` may see, and their total."""
        if user.active and user.role in ENTERPRISE_READ_ALL_ROLES:
            return self.store.enterprises(limit=limit, offset=offset)
        if user.active and user.role == Role.ENTERPRISE_CUSTOMER:
            return self.store.enterprises(customer_user_id=user.id, limit=limit, offset=offset)
        raise PermissionDeniedError(user.username, "read enterprises", "enterprise service")

    def record_visit(self, user: User, enterprise_id: int, draft: VisitDraft
                     ) -> tuple[Visit, list[Problem]]:
        """Log a visit and the problems raised on it, in one transaction."""
        self._require_manager(user, "record a visit")
        if not draft.topics:
            raise EnterpriseError(f"visit to enterprise {enterprise_id}: no topics")
        now = self.clock()
        with self.store.transaction() as tx:
            tx.enterprise(enterprise_id)
            visit_id = tx.insert_visit(enterprise_id, user, draft.visited_on, draft.topics,
                                       draft.notes, now)
            problem_ids = [tx.insert_problem(enterprise_id, visit_id, user, p.title,
                                             p.description, now) for p in draft.problems]
            tx.add_audit(now, user, "enterprise_visit", "enterprise", enterprise_id,
                         after={"visit_id": visit_id, "visited_on": draft.visited_on,
                                "topics": list(draft.topics), "problems": problem_ids})
            return tx.visit(visit_id), [tx.problem(i) for i in problem_ids]

    def raise_problem(self, user: User, enterprise_id: int, draft: ProblemDraft,
                      visit_id: int | None = None) -> Problem:
        """Record a problem outside a visit (a phone call) or on visit ``visit_id``."""
        self._require_manager(user, "record a problem")
        now = self.clock()
        with self.store.transaction() as tx:
            tx.enterprise(enterprise_id)
            if visit_id is not None and tx.visit(visit_id).enterprise_id != enterprise_id:
                raise EnterpriseError(f"visit {visit_id} is not a visit to enterprise "
                                      f"{enterprise_id}")
            problem_id = tx.insert_problem(enterprise_id, visit_id, user, draft.title,
                                           draft.description, now)
            tx.add_audit(now, user, "enterprise_problem_raise", "enterprise_problem",
                         problem_id, after={"title": draft.title})
            return tx.problem(problem_id)

    def act_on_problem(self, user: User, problem_id: int, action: ProblemAction,
                       note: str = "", satisfaction: int | None = None) -> Problem:
        """Move a problem through its state machine (account managers).

        ``note`` is the reason when declaring it not rectifiable; ``satisfaction`` (1-5) is the
        customer's rating collected when verifying.
        """
        self._require_manager(user, f"{action.value} an enterprise problem")
        check_satisfaction(satisfaction)
        if satisfaction is not None and action != ProblemAction.VERIFY:
            raise EnterpriseError("a satisfaction score is recorded when verifying")
        now = self.clock()
        with self.store.transaction() as tx:
            before = tx.problem(problem_id, lock=True)
            target = next_problem_state(before.state, action, problem_id=problem_id,
                                        reason=note)
            values: dict[str, object] = {"state": target.value, "updated_at_us": to_us(now)}
            if target == ProblemState.RECTIFIED:
                values["rectified_at_us"] = to_us(now)
            if target in (ProblemState.CLOSED, ProblemState.NOT_RECTIFIABLE):
                values["closed_at_us"] = to_us(now)
            if action == ProblemAction.DECLARE_NOT_RECTIFIABLE:
                values["reason"] = note
            if satisfaction is not None:
                values["satisfaction"] = satisfaction
            tx.update_problem(problem_id, **values)
            tx.add_event(problem_id, now, action.value, before.state, target, user, note)
            tx.add_audit(now, user, f"enterprise_problem_{action.value}"[:32],
                         "enterprise_problem", problem_id, before={"state": before.state.value},
                         after={"state": target.value, "note": note,
                                "satisfaction": satisfaction})
            return tx.problem(problem_id)

    def rate_problem(self, user: User, problem_id: int, score: int) -> Problem:
        """The enterprise rates a closed problem (1-5), once."""
        problem = self.store.problem(problem_id)
        try:
            enterprise = self.get(user, problem.enterprise_id)
        except RecordNotFoundError:
            raise RecordNotFoundError("enterprise problem", problem_id) from None
        if user.role != Role.ENTERPRISE_CUSTOMER or enterprise.customer_user_id != user.id:
            raise PermissionDeniedError(user.username, "rate an enterprise problem",
                                        f"enterprise problem {problem_id}")
        check_satisfaction(score)
        if problem.state not in (ProblemState.CLOSED, ProblemState.NOT_RECTIFIABLE):
            raise EnterpriseError(f"enterprise problem {problem_id} is {problem.state.value}: "
                                  "it is rated once closed")
        if problem.satisfaction is not None:
            raise EnterpriseError(f"enterprise problem {problem_id} is rated already")
        with self.store.transaction() as tx:
            tx.update_problem(problem_id, satisfaction=score, updated_at_us=to_us(self.clock()))
            return tx.problem(problem_id)

    def visits(self, user: User, enterprise_id: int) -> list[Visit]:
        """Visits to an enterprise ``user`` may see, newest first."""
        self.get(user, enterprise_id)
        return self.store.visits(enterprise_id)

    def problems(self, user: User, enterprise_id: int) -> list[Problem]:
        """Problems of an enterprise ``user`` may see, oldest first."""
        self.get(user, enterprise_id)
        return self.store.problems(enterprise_id=enterprise_id)

    def problem(self, user: User, problem_id: int) -> tuple[Problem, list[ProblemEvent]]:
        """A problem ``user`` may see, with its history."""
        problem = self.store.problem(problem_id)
        try:
            self.get(user, problem.enterprise_id)
        except RecordNotFoundError:
            raise RecordNotFoundError("enterprise problem", problem_id) from None
        return problem, self.store.problem_events(problem_id)

    def rates(self, user: User, *, manager_id: int | None = None, park_id: str | None = None,
              start: datetime | None = None, end: datetime | None = None) -> ServiceRates:
        """Rectification and satisfaction rates over the problems raised in [start, end) at
        the enterprises of a manager or a park (staff)."""
        if not user.active or user.role not in ENTERPRISE_READ_ALL_ROLES:
            raise PermissionDeniedError(user.username, "read service rates", "enterprise service")
        return service_rates(self.store.problems(manager_id=manager_id, park_id=park_id,
                                                 raised_from=start, raised_until=end))

    # -- consumption ----------------------------------------------------------------------------

    def hourly_flow(self, enterprise: Enterprise, start: datetime, end: datetime) -> pd.Series:
        """The enterprise's total flow [m³/s], hourly means indexed by local time."""
        if not enterprise.meter_sensor_ids:
            raise EnterpriseError(f"enterprise {enterprise.account_id} has no meters")
        flow = combined_hourly_flow(self._meter_frames(enterprise, start, end))
        flow.index = pd.DatetimeIndex(flow.index).tz_convert(LOCAL_TZ)
        return flow

    def _meter_frames(self, enterprise: Enterprise, start: datetime, end: datetime
                      ) -> list[pd.DataFrame]:
        frames = []
        for sensor_id in enterprise.meter_sensor_ids:
            try:
                frames.append(self.telemetry.resample(sensor_id, start, end, HOUR_S))
            except UnknownSensorError:
                raise EnterpriseError(f"enterprise {enterprise.account_id}: meter {sensor_id!r} "
                                      "is not a sensor of the telemetry store") from None
        return frames

    def _daily_m3(self, enterprise: Enterprise, start: datetime, end: datetime) -> float | None:
        """A peer's mean daily volume [m³/day] (None: no meters or no readings)."""
        if not enterprise.meter_sensor_ids:
            return None
        try:
            frames = self._meter_frames(enterprise, start, end)
        except EnterpriseError:
            return None
        if len(frames) == 1:  # the common case, without building a time index
            means = frames[0]["mean"]
            return None if means.empty else float(means.mean()) * SECONDS_PER_DAY
        flow = combined_hourly_flow(frames)
        return None if flow.empty else float(flow.mean()) * SECONDS_PER_DAY

    def _peers(self, enterprise: Enterprise, daily_m3: float, start: datetime, end: datetime
               ) -> PeerComparison:
        basis = basis_of(enterprise)
        own = _per_unit(enterprise, daily_m3, basis)
        assert own is not None  # basis_of picks a unit the enterprise has
        others, _ = self.store.enterprises(industry=enterprise.industry)
        values = []
        for peer in others:
            if peer.id == enterprise.id:
                continue
            peer_daily = self._daily_m3(peer, start, end)
            per_unit = None if peer_daily is None else _per_unit(peer, peer_daily, basis)
            if per_unit is not None:
                values.append(per_unit)
        median = float(pd.Series(values).median()) if values else None
        return PeerComparison(enterprise.industry, basis, own, len(values), median,
                              percentile_among(own, values))

    def consumption(self, user: User, enterprise_id: int, start: datetime, end: datetime
                    ) -> ConsumptionAnalysis:
        """Daily profile, night flow and peer comparison over [start, end)."""
        if start.tzinfo is None or end.tzinfo is None or not \
                timedelta(0) < end - start <= MAX_WINDOW:
            raise EnterpriseError(f"analysis window {start} - {end} must be aware, forward and "
                                  f"at most {MAX_WINDOW.days} days long")
        enterprise = self.get(user, enterprise_id)
        flow = self.hourly_flow(enterprise, start, end)
        if flow.empty:
            raise EnterpriseError(f"enterprise {enterprise.account_id}: no meter readings "
                                  f"between {start.isoformat()} and {end.isoformat()}")
        local = pd.DatetimeIndex(flow.index)
        hours = pd.Index(local.hour)
        night = flow[hours.isin(NIGHT_HOURS)]
        if night.empty:
            raise EnterpriseError(f"enterprise {enterprise.account_id}: no meter readings "
                                  "between 02:00 and 04:00 local time in the window")
        profile_series = flow.groupby(hours).mean()
        profile = tuple(float(profile_series[h]) if h in profile_series.index else None
                        for h in range(24))
        days = pd.Series(local.date, index=flow.index)
        daily = tuple(DailyVolume(d, float(flow[days == d].mean()) * SECONDS_PER_DAY,
                                  int((days == d).sum())) for d in sorted(set(local.date)))
        average, night_m3s = float(flow.mean()), float(night.mean())
        justified = enterprise.justified_night_flow_m3s
        hint, reasoning = night_flow_finding(average, night_m3s, justified, self.night_rule)
        return ConsumptionAnalysis(
            enterprise.id, start, end, daily, profile, average, night_m3s, justified,
            night_m3s / average if average > 0 else 0.0, hint, reasoning,
            self._peers(enterprise, average * SECONDS_PER_DAY, start, end),
            AdviceMessage.NIGHT_FLOW_LEAK if hint else AdviceMessage.NIGHT_FLOW_OK,
            night_flow_figures(average, night_m3s, justified, self.night_rule),
        )

    def advice(self, user: User, enterprise_id: int, start: datetime, end: datetime, *,
               reuse_share: float = 0.10) -> SavingsAdvice:
        """Savings advice in yuan per year from the consumption over [start, end).

        Items apply one after the other: fix the leak, then reuse ``reuse_share`` of what is
        left [0-1] (cooling and process water, an assumption the manager confirms on site),
        then bring use back within the quota if a surcharge is paid.
        """
        if not 0.0 <= reuse_share < 1.0:
            raise EnterpriseError(f"reuse share {reuse_share} must be in [0, 1)")
        analysis = self.consumption(user, enterprise_id, start, end)
        enterprise = self.store.enterprise(enterprise_id)
        tariff = self.tariff_of(enterprise)
        daily = analysis.mean_daily_volume_m3
        items = []
        leak_daily = analysis.excess_night_flow_m3s * SECONDS_PER_DAY if analysis.leak_hint \
            else 0.0
        leak_figures = {**analysis.leak_figures, "volume_m3_per_year": leak_daily * DAYS_PER_YEAR}
        items.append(_item("leak", tariff, daily, daily - leak_daily, (
            f"{analysis.leak_reasoning}. A leak runs all 8760 h of the year: "
            f"{analysis.excess_night_flow_m3s * 1e3:.2f} L/s x 86400 s x 365 = "
            f"{leak_daily * DAYS_PER_YEAR:.0f} m3/year at the tariff {tariff.name!r}"
        ) if analysis.leak_hint else analysis.leak_reasoning + "; nothing to save on leaks",
            AdviceMessage.LEAK_REPAIR if analysis.leak_hint else AdviceMessage.LEAK_NONE,
            leak_figures))
        daily -= leak_daily
        reused = daily * reuse_share
        items.append(_item("reuse", tariff, daily, daily - reused, (
            f"reusing {reuse_share:.0%} of the remaining {daily:.1f} m3/day (cooling-tower "
            f"blowdown, rinse and process water) saves {reused * DAYS_PER_YEAR:.0f} m3/year "
            f"at the tariff {tariff.name!r}"), AdviceMessage.REUSE, {
                "reuse_share": reuse_share, "remaining_flow_m3s": daily / SECONDS_PER_DAY,
                "volume_m3_per_year": reused * DAYS_PER_YEAR}))
        daily -= reused
        items.append(_shifting_item(tariff, daily))
        return SavingsAdvice(enterprise.id, tariff.name, analysis.mean_daily_volume_m3 *
                             DAYS_PER_YEAR, tariff.annual_cost_yuan(analysis.mean_daily_volume_m3),
                             tuple(items), analysis)


def _item(kind: str, tariff: Tariff, daily_before_m3: float, daily_after_m3: float,
          reasoning: str, message: AdviceMessage, figures: Figures) -> SavingsItem:
    saved = tariff.annual_cost_yuan(daily_before_m3) - tariff.annual_cost_yuan(daily_after_m3)
    return SavingsItem(kind, (daily_before_m3 - daily_after_m3) * DAYS_PER_YEAR, to_fen(saved),
                       reasoning, message, figures)


def _shifting_item(tariff: Tariff, daily_m3: float) -> SavingsItem:
    if not isinstance(tariff, QuotaTariff) or tariff.quota_m3 is None:
        return SavingsItem("shifting", 0.0, 0.0, (
            f"the tariff {tariff.name!r} has no time-of-day bands and no quota surcharge: "
            "shifting use in time saves nothing"), AdviceMessage.SHIFTING_NO_QUOTA,
            {"tariff": tariff.name})
    periods = MONTHS_PER_YEAR if tariff.period == BillingPeriod.MONTH else 1
    period_m3 = daily_m3 * DAYS_PER_YEAR / periods
    surcharge = periods * tariff.surcharge_yuan(period_m3)
    figures: dict[str, float | str] = {"period": tariff.period.value,
                                       "period_volume_m3": period_m3, "quota_m3": tariff.quota_m3}
    if surcharge <= 0:
        return SavingsItem("shifting", 0.0, 0.0, (
            f"use of {period_m3:.0f} m3 per {tariff.period.value} stays within the quota of "
            f"{tariff.quota_m3:.0f} m3: no surcharge to avoid"),
            AdviceMessage.SHIFTING_WITHIN_QUOTA, figures)
    excess = period_m3 - tariff.quota_m3
    figures |= {"excess_m3": excess, "excess_ratio": excess / tariff.quota_m3,
                "surcharge_yuan_per_year": to_fen(surcharge)}
    return SavingsItem("shifting", excess * periods, to_fen(surcharge), (
        f"use of {period_m3:.0f} m3 per {tariff.period.value} exceeds the quota of "
        f"{tariff.quota_m3:.0f} m3 by {excess:.0f} m3 ({excess / tariff.quota_m3:.0%}); the "
        f"surcharge (超定额累进加价) costs {surcharge:.2f} yuan/year. Moving that use to "
        "periods below the quota (stocking, batch scheduling) or cutting it avoids it"),
        AdviceMessage.SHIFTING_OVER_QUOTA, figures)
