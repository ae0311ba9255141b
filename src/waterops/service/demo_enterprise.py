"""The demo's enterprise: an industrial-park mill of the demo city for ``demo-enterprise``.

``waterops demo`` makes one account per role (:func:`waterops.service.live.ensure_demo_accounts`);
:func:`ensure_demo_enterprise` gives the enterprise customer among them an enterprise to see:

- the park enterprise :data:`DEMO_ENTERPRISE_ACCOUNT` of the demo layout (a textile dyeing
  and finishing mill, 2.5 L/s on average: about 6,500 m³ a month, above the 5,000 m³ quota of
  the demo's non-household tariff), registered by the demo account manager (``demo-agent``)
  through the enterprise service as ``POST /enterprises`` does, with ``demo-enterprise`` as its
  customer;
- ``demo-enterprise`` as the holder of that customer account for outage notices (as
  ``POST /notices/contacts`` does);
- :data:`HISTORY_DAYS` days of hourly reads of its AMR meter before now, so consumption,
  night flow and savings advice have a week to look at from the demo's first minute;
- the manager's first visit, with the two problems raised on it (one closed and waiting for
  the customer's rating, one in progress).

The meter history is the demo model's own demand at the enterprise's node: base demand times
the network's industrial pattern, times the simulator's demand noise (an AR(1) multiplier per
area, correlation time 3 h, and per node, 1 h) and its flow-meter noise
(:data:`waterops.service.simulator.NOISE`). The simulator's reads of the same meter continue it:
a read already stored is kept (the store skips a second reading at the same time).

Running it again on the same database (a restarted demo) changes nothing but the meter reads
of the hours since: the enterprise, its contact and its visit are found, not added again.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from waterops.errors import ConfigError, RecordNotFoundError
from waterops.io.inp import read_inp
from waterops.model.accounts import Role, User
from waterops.model.enterprises import Enterprise, ProblemAction
from waterops.model.tariffs import TariffBook
from waterops.model.telemetry import Quantity, Sensor
from waterops.model.utility import UtilityLayout
from waterops.service.auth import AuthService
from waterops.service.enterprise_service import (
    LOCAL_TZ,
    NIGHT_HOURS,
    UPDATABLE_FIELDS,
    EnterpriseDraft,
    EnterpriseService,
    ProblemDraft,
    VisitDraft,
    configured_tariff_book,
    enterprise_drafts,
)
from waterops.service.live import DEMO_ACCOUNTS
from waterops.service.notices import NoticeService
from waterops.service.simulator import (
    DMA_NOISE_TAU_S,
    NODE_NOISE_TAU_S,
    NOISE,
    SimulatorConfig,
)
from waterops.store.enterprises_store import EnterprisesStore
from waterops.store.notices_store import NoticesStore
from waterops.store.telemetry_store import TelemetryStore

DEMO_ENTERPRISE_ACCOUNT = "E00072"
"""Customer account of the demo's enterprise: the park enterprise at ``JUNCTION-3075``."""
EMPLOYEES = 180
"""Staff of the mill (two shifts)."""
OUTPUT_PER_DAY = 1.6
OUTPUT_UNIT = "t fabric"
"""Finished fabric per day [t] (about 135 m³ of water per tonne: the peer comparison's unit)."""
NIGHT_USE_STEP_M3S = 5.0e-5
"""The night use the mill declares is its process night demand rounded up to 0.05 L/s [m³/s]."""
HISTORY_DAYS = 28
"""Days of hourly meter reads written before now [day]."""
HISTORY_SEED = 72
"""Seed of the history's noise."""
PATTERN_STEP_S = 3600
"""EPANET's pattern step when the file gives none [s]."""
VISIT_DAYS_AGO = 3
"""The manager's first visit was this many local days before the demo started [day]."""

VISIT_TOPICS = ("water-saving audit (节水)", "quota surcharge (超定额累进加价)",
                "night use of the dye house")
VISIT_NOTES = ("Walked the dye house and the cooling loop with the plant engineer: the baths "
               "are kept hot and the loop runs all night. Agreed to look at reusing the final "
               "rinse.")
VISIT_PROBLEMS = (
    ProblemDraft("Last month's bill looked high",
                 "Checked against the AMR hourly reads: the reads are right; the month's use "
                 "went over the quota and the use above it pays the surcharge."),
    ProblemDraft("Low pressure in the dye house at the 08:00 shift start",
                 "All jets open at once when the day shift starts."),
)
"""The account manager's first visit: topics, notes and the problems raised on it."""


def demo_username(role: Role) -> str:
    """The user name of the demo account of ``role`` (:data:`DEMO_ACCOUNTS`)."""
    return next(name for name, r in DEMO_ACCOUNTS if r is role)


def _demo_user(auth: AuthService, role: Role) -> User:
    username = demo_username(role)
    found = auth.accounts.credentials(username)
    if found is None or found[0].role is not role:
        raise ConfigError(f"the demo account {username!r} ({role.value}) is missing: create "
                          "the demo accounts first")
    return found[0]


def _meter(layout: UtilityLayout, draft: EnterpriseDraft) -> Sensor:
    sensors = {s.id: s for s in layout.sensors}
    meters = [sensors[m] for m in draft.meter_sensor_ids]
    if len(meters) != 1 or meters[0].element_id is None:
        raise ConfigError(f"enterprise {draft.account_id} has {len(meters)} meters in the "
                          "demo layout, not one at its node")
    return meters[0]


NodeDemand = tuple[float, npt.NDArray[np.float64], int]
"""A node's base demand [m³/s], demand pattern [-] and pattern step [s] (:func:`node_pattern`)."""


def node_pattern(layout: UtilityLayout, node: str) -> NodeDemand:
    """Base demand of ``node`` [m³/s], its demand pattern [-] and the pattern step [s], from
    the layout's network file (pattern time 0 is local midnight, as in the simulator)."""
    net = read_inp(layout.network_file)
    base = float(net.junctions["base_demand_m3s"].astype(float).loc[node])
    name = net.junctions.at[node, "demand_pattern"]
    if not isinstance(name, str) or not name:  # no pattern of its own: the file's default
        name = net.options.default_pattern
    pattern = np.asarray(net.patterns.get(name, [1.0]) if name else [1.0], dtype=float)
    return base, pattern, int(net.times.pattern_step_s or PATTERN_STEP_S)


def pattern_at(pattern: npt.NDArray[np.float64], step_s: int,
               times: pd.DatetimeIndex) -> npt.NDArray[np.float64]:
    """The pattern's multiplier [-] at each aware time, the pattern starting at local
    midnight (:data:`LOCAL_TZ`)."""
    local = times.tz_convert(LOCAL_TZ)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    slot = (np.asarray(seconds) // step_s) % len(pattern)
    values: npt.NDArray[np.float64] = pattern[slot]
    return values


def _ar1(n: int, sd: float, tau_s: float, step_s: float,
         rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A stationary AR(1) series of standard deviation ``sd`` and correlation time ``tau_s``."""
    phi = math.exp(-step_s / tau_s)
    shocks = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = sd * shocks[0]
    for i in range(1, n):
        out[i] = phi * out[i - 1] + sd * math.sqrt(1.0 - phi**2) * shocks[i]
    return out


def meter_reads(base_m3s: float, pattern: npt.NDArray[np.float64], pattern_step_s: int,
                times: pd.DatetimeIndex, rng: np.random.Generator,
                config: SimulatorConfig | None = None) -> npt.NDArray[np.float64]:
    """What a demand meter reads at ``times`` (aware, evenly spaced) [m³/s]: base demand
    ``base_m3s`` times the pattern, times the simulator's area and node demand noise, plus
    its flow-meter noise; never below zero."""
    cfg = config or SimulatorConfig()
    n = len(times)
    if n == 0:
        return np.empty(0)
    step_s = float((times[1] - times[0]).total_seconds()) if n > 1 else 3600.0
    factor = np.clip((1 + _ar1(n, cfg.dma_demand_noise, DMA_NOISE_TAU_S, step_s, rng))
                     * (1 + _ar1(n, cfg.node_demand_noise, NODE_NOISE_TAU_S, step_s, rng)),
                     0, None)
    demand = base_m3s * pattern_at(pattern, pattern_step_s, times) * factor
    noise_abs, noise_rel = NOISE[Quantity.FLOW]
    reads: npt.NDArray[np.float64] = np.clip(
        demand + (noise_abs + noise_rel * demand) * rng.standard_normal(n), 0.0, None)
    return reads


def layout_draft(layout: UtilityLayout) -> EnterpriseDraft:
    """The layout's park enterprise :data:`DEMO_ENTERPRISE_ACCOUNT`, as the layout has it."""
    draft = next((d for d in enterprise_drafts(layout)
                  if d.account_id == DEMO_ENTERPRISE_ACCOUNT), None)
    if draft is None:
        raise ConfigError(f"the demo layout has no park enterprise {DEMO_ENTERPRISE_ACCOUNT}")
    return draft


def demo_enterprise_draft(draft: EnterpriseDraft, manager: User, customer: User,
                          demand: NodeDemand) -> EnterpriseDraft:
    """The demo enterprise's record: the layout's ``draft`` (:func:`layout_draft`), managed by
    ``manager``, of ``customer``; ``demand`` is its meter node's (:func:`node_pattern`).

    Its declared night use is the process night demand of its node (02:00-04:00, the baths
    kept hot and the cooling loop), rounded up to :data:`NIGHT_USE_STEP_M3S`."""
    base, pattern, step_s = demand
    night_m3s = base * float(np.mean([pattern[(h * 3600 // step_s) % len(pattern)]
                                      for h in NIGHT_HOURS]))
    declared = math.ceil(night_m3s / NIGHT_USE_STEP_M3S - 1e-9) * NIGHT_USE_STEP_M3S
    return replace(draft, manager_id=manager.id, customer_user_id=customer.id,
                   justified_night_flow_m3s=round(declared, 9), employees=EMPLOYEES,
                   output_per_day=OUTPUT_PER_DAY, output_unit=OUTPUT_UNIT)


def _register(service: EnterpriseService, manager: User, draft: EnterpriseDraft) -> Enterprise:
    """Register the demo enterprise, or bring a registered one (``enterprises import-demo``,
    an earlier demo) back to the demo's record."""
    try:
        found = service.store.by_account(draft.account_id)
    except RecordNotFoundError:
        return service.register(manager, draft)
    if found.customer_user_id not in (None, draft.customer_user_id):
        raise ConfigError(f"enterprise {draft.account_id} belongs to customer account "
                          f"{found.customer_user_id}, not the demo's; use another database")
    changes = {f.name: getattr(draft, f.name) for f in fields(EnterpriseDraft)
               if f.name in UPDATABLE_FIELDS and f.name != "meter_sensor_ids"
               and getattr(draft, f.name) != getattr(found, f.name)}
    if sorted(draft.meter_sensor_ids) != sorted(found.meter_sensor_ids):
        changes["meter_sensor_ids"] = draft.meter_sensor_ids
    return service.update(manager, found.id, changes) if changes else found


def write_history(telemetry: TelemetryStore, layout: UtilityLayout, meter: Sensor,
                  now: datetime, demand: NodeDemand, *, days: int = HISTORY_DAYS,
                  seed: int = HISTORY_SEED) -> int:
    """Write ``days`` of the meter's reads up to ``now`` (at its interval) from ``demand``,
    the meter node's (:func:`node_pattern`); returns how many were new (reads already
    stored are kept)."""
    interval = timedelta(seconds=meter.interval_s or 3600.0)
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    last = now - (now - epoch) % interval
    count = int(timedelta(days=days) / interval)
    times = pd.date_range(end=last, periods=count, freq=interval)
    base, pattern, step_s = demand
    values = meter_reads(base, pattern, step_s, times, np.random.default_rng(seed))
    telemetry.upsert_systems([s for s in layout.systems if s.id == meter.system_id])
    telemetry.upsert_sites([s for s in layout.sites if s.id == meter.site_id])
    telemetry.upsert_sensors([meter])
    return telemetry.write_reading_arrays(meter.id, times.tz_convert(None).to_numpy(), values)


def _first_visit(service: EnterpriseService, manager: User, enterprise: Enterprise,
                 now: datetime) -> None:
    """The manager's first visit, recorded once: one problem closed (for the customer to
    rate), one in progress."""
    if service.visits(manager, enterprise.id):
        return
    visited_on = (now.astimezone(LOCAL_TZ) - timedelta(days=VISIT_DAYS_AGO)).date()
    _, (billed, pressure) = service.record_visit(manager, enterprise.id, VisitDraft(
        visited_on, VISIT_TOPICS, VISIT_NOTES, VISIT_PROBLEMS))
    for action in (ProblemAction.START, ProblemAction.RECTIFY, ProblemAction.VERIFY):
        service.act_on_problem(manager, billed.id, action)
    service.act_on_problem(manager, pressure.id, ProblemAction.START)


def ensure_demo_enterprise(auth: AuthService, layout: UtilityLayout, *,
                           tariffs: TariffBook | None = None) -> Enterprise:
    """Give the demo's enterprise customer its enterprise (see the module's text), on the
    database of ``auth``; the demo accounts must exist.

    Parameters
    ----------
    auth : the application's authentication service (its accounts store and clock)
    layout : the demo utility's layout
    tariffs : the tariff book (default: ``WATEROPS_TARIFF_FILE`` or the demo book)
    """
    engine = auth.accounts.engine
    telemetry = TelemetryStore(engine)
    service = EnterpriseService(EnterprisesStore(engine), telemetry,
                                tariffs=tariffs or configured_tariff_book(), clock=auth.clock)
    manager = _demo_user(auth, Role.SERVICE_AGENT)
    customer = _demo_user(auth, Role.ENTERPRISE_CUSTOMER)
    base_draft = layout_draft(layout)
    meter = _meter(layout, base_draft)
    demand = node_pattern(layout, str(meter.element_id))  # parses the network file: once
    draft = demo_enterprise_draft(base_draft, manager, customer, demand)
    enterprise = _register(service, manager, draft)
    now = auth.clock()
    write_history(telemetry, layout, meter, now, demand)
    notices = NoticeService(NoticesStore(engine), layout, clock=auth.clock)
    if all(c.account_id != draft.account_id for c in notices.contacts_of(customer)):
        notices.register_contact(manager, draft.account_id, customer_id=customer.id)
    _first_visit(service, manager, enterprise, now)
    return enterprise
