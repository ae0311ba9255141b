"""Contamination use cases: the spread of an injection (exposure at 1, 6, 24 h, the
do-not-drink area, the hydrant flushing plan), source tracing from sensor readings, and the
do-not-drink notice.

Water-quality engineers, dispatchers and administrators analyse
(:attr:`Permission.EMERGENCY_ANALYSE`). The do-not-drink area becomes a notice draft (text in
zh-CN and English, the nodes and customer accounts reached; the draft is written to the audit
log); whoever may issue notices issues it: it is stored with its targets and one outbox
message per contact in one transaction, like an outage notice, but with the do-not-drink
text (the water still flows: it must not be drunk, it may flush toilets).

Model time: EPANET simulates from t = 0 at midnight of the patterns' day. Readings given with
clock times are placed on that axis from ``model_start`` (default: local midnight of the day
of the earliest reading, in the utility's time zone).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from waterops.data import demo_network_path
from waterops.emergency.contamination import (
    DEFAULT_THRESHOLD_MG_L,
    Exposure,
    Injection,
    SpreadResult,
    exposure,
    simulate_spread,
)
from waterops.emergency.flushing import (
    DoNotDrinkArea,
    FlushingStep,
    Hydrant,
    do_not_drink_area,
    flushing_plan,
    hydrant_layer,
)
from waterops.emergency.tracing import SensorReading, TraceCandidate, trace_sources
from waterops.errors import (
    ConfigError,
    NoticeRuleError,
    PermissionDeniedError,
    StoreError,
    UnknownElementError,
)
from waterops.hydraulics.epanet import EpanetEngine
from waterops.io.inp import read_inp
from waterops.model.accounts import Permission, User
from waterops.model.complaints import Ability, can
from waterops.model.network import Network
from waterops.model.notices import NoticeKind
from waterops.model.utility import UtilityLayout
from waterops.service.auth import Clock, require, utc_now
from waterops.service.notices import PUBLIC_POSTING, NoticeService
from waterops.service.notifications import EMAIL, LOG, SMS
from waterops.store.accounts_store import insert_audit, to_us
from waterops.store.faults import DATABASE_FAULTS, reason_of
from waterops.store.notices_store import NewMessage, Notice

MAX_MEMBERS = 2000
"""Most demand scenarios one tracing request may ask for."""
MAX_HORIZON_S = 7 * 86_400
"""Longest horizon of a spread [s]."""


@dataclass(frozen=True)
class NodeImpact:
    """How the contamination reaches one node (times after the injection started)."""

    node_id: str
    first_arrival_s: float
    peak_mg_l: float
    peak_time_s: float


@dataclass(frozen=True)
class SpreadReport:
    """The spread of an injection and what follows from it."""

    injection: Injection
    horizon_s: int
    threshold_mg_l: float
    exposure: tuple[Exposure, ...]
    nodes: tuple[NodeImpact, ...]
    area: DoNotDrinkArea
    flushing: tuple[FlushingStep, ...]


@dataclass(frozen=True)
class Detection:
    """A quality reading of a sensor: concentration above background [mg/L] at a time."""

    sensor_id: str
    at: datetime
    concentration_mg_l: float


@dataclass(frozen=True)
class TraceReport:
    """Ranked candidate injection points, start times as clock times too."""

    model_start: datetime
    candidates: tuple[TraceCandidate, ...]
    readings_used: int

    def start_time(self, candidate: TraceCandidate) -> datetime:
        """The candidate's start as a clock time (UTC)."""
        return self.model_start + timedelta(seconds=candidate.start_s)


@dataclass(frozen=True)
class DoNotDrinkDraft:
    """A do-not-drink notice, ready to issue."""

    area: DoNotDrinkArea
    area_text: str
    starts_at: datetime
    subject: str
    body_en: str
    body_zh: str


class ContaminationService:
    """The contamination use cases over one network.

    Parameters
    ----------
    network_file : the .inp file (default: the bundled demo network)
    layout : the utility's layout (customers, DMAs, sensors)
    notices : the notice service (its store receives issued notices), if any
    audit_engine : the database holding the audit log (drafts are written there), if any
    workers, dask_address : where tracing ensembles run (see ``run_batch``)
    """

    def __init__(self, network_file: str | Path | None, layout: UtilityLayout, *,
                 notices: NoticeService | None = None, audit_engine: sa.Engine | None = None,
                 clock: Clock = utc_now, timezone: str = "Asia/Shanghai", workers: int = 1,
                 dask_address: str | None = None) -> None:
        self.network_file = Path(network_file) if network_file else demo_network_path()
        self.layout = layout
        self.notices = notices
        self.audit_engine = audit_engine
        self.clock = clock
        self.timezone = timezone
        self.workers = workers
        self.dask_address = dask_address
        self._net: Network | None = None
        self._hydrants: list[Hydrant] | None = None
        self._lock = threading.Lock()

    def network(self) -> Network:
        """The network model (read on first use)."""
        with self._lock:
            if self._net is None:
                self._net = read_inp(self.network_file)
            return self._net

    def hydrants(self) -> list[Hydrant]:
        """The hydrant layer (built on first use, see :func:`hydrant_layer`)."""
        net = self.network()
        with self._lock:
            if self._hydrants is None:
                self._hydrants = hydrant_layer(net)
            return self._hydrants

    # ------------------------------------------------------------------ spread
    def spread(self, user: User, injection: Injection, *, horizon_s: int = 86_400,
               threshold_mg_l: float = DEFAULT_THRESHOLD_MG_L,
               with_flushing: bool = True) -> SpreadReport:
        """Forward spread of ``injection`` over ``horizon_s`` after it starts."""
        require(user, Permission.EMERGENCY_ANALYSE)
        if not 0 < horizon_s <= MAX_HORIZON_S:
            raise ConfigError(f"the horizon must be between 1 s and {MAX_HORIZON_S} s, "
                              f"not {horizon_s}")
        with EpanetEngine.open(self.network_file) as engine:
            result = simulate_spread(engine, injection, horizon_s=horizon_s,
                                     threshold_mg_l=threshold_mg_l)
        return self._report(result, horizon_s, with_flushing)

    def _report(self, result: SpreadResult, horizon_s: int,
                with_flushing: bool) -> SpreadReport:
        windows = [float(h) for h in (1, 6, 24) if h * 3600 <= horizon_s] or [horizon_s / 3600]
        arrival, peak, peak_at = result.first_arrival_s, result.peak_mg_l, result.peak_time_s
        order = sorted((i for i in range(len(result.node_ids)) if arrival[i] == arrival[i]),
                       key=lambda i: (arrival[i], result.node_ids[i]))
        nodes = tuple(NodeImpact(result.node_ids[i], float(arrival[i]), float(peak[i]),
                                 float(peak_at[i])) for i in order)
        flushing = (tuple(flushing_plan(self.network(), result, self.hydrants()))
                    if with_flushing else ())
        return SpreadReport(result.injection, horizon_s, result.threshold_mg_l,
                            tuple(exposure(result, self.layout.customers, windows)), nodes,
                            do_not_drink_area(result, self.layout), flushing)

    # ------------------------------------------------------------------ tracing
    def trace(self, user: User, detections: Sequence[Detection], *,
              threshold_mg_l: float = DEFAULT_THRESHOLD_MG_L * 5,
              model_start: datetime | None = None, members: int = 20, noise: float = 0.1,
              seed: int = 0) -> TraceReport:
        """Rank injection nodes and start times explaining the readings of quality sensors
        (detections and clean readings)."""
        require(user, Permission.EMERGENCY_ANALYSE)
        if not 1 <= members <= MAX_MEMBERS:
            raise ConfigError(f"members must be between 1 and {MAX_MEMBERS}, not {members}")
        if not detections:
            raise ConfigError("source tracing needs sensor readings")
        start = model_start or self._model_start(min(d.at for d in detections))
        readings = [self._reading(d, start) for d in detections]
        zones = [frozenset(d.junctions) for d in self.layout.dmas]
        ranked = trace_sources(self.network_file, self.network(), readings,
                               threshold_mg_l=threshold_mg_l, members=members, noise=noise,
                               zones=zones if members > 1 else (), seed=seed,
                               workers=self.workers, dask_address=self.dask_address)
        return TraceReport(start, tuple(ranked), len(readings))

    def _model_start(self, first: datetime) -> datetime:
        local = first.astimezone(ZoneInfo(self.timezone))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight.astimezone(first.tzinfo)

    def _reading(self, detection: Detection, start: datetime) -> SensorReading:
        sensor = next((s for s in self.layout.sensors if s.id == detection.sensor_id), None)
        if sensor is None or sensor.element_kind != "node" or not sensor.element_id:
            raise UnknownElementError("quality sensor on a node", detection.sensor_id,
                                      self.layout.name)
        time_s = int((detection.at - start).total_seconds())
        if time_s < 0:
            raise ConfigError(f"reading of {detection.sensor_id} at {detection.at} is before "
                              f"the model start {start}")
        return SensorReading(sensor.element_id, time_s, detection.concentration_mg_l)

    # ------------------------------------------------------------------ notices
    def do_not_drink_draft(self, user: User, report: SpreadReport, *,
                           starts_at: datetime | None = None,
                           substance: str = "a contaminant") -> DoNotDrinkDraft:
        """The do-not-drink notice of a spread's area; written to the audit log."""
        require(user, Permission.EMERGENCY_ANALYSE)
        area = report.area
        if not area.nodes:
            raise NoticeRuleError("a do-not-drink notice names an area",
                                  "the contamination reaches no node above the threshold")
        now = self.clock()
        start = starts_at or now
        text = (f"{', '.join(area.dmas[:4])} ({len(area.nodes)} nodes)" if area.dmas
                else f"{len(area.nodes)} nodes around {report.injection.node_id}")
        local = start.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M")
        subject = f"Do not drink tap water: {text} ({local})"
        body_en = (f"From {local}, tap water in {text} may contain {substance}. Do not drink "
                   "it or use it for cooking until the utility says it is safe again; it may "
                   "be used to flush toilets. Drinking water is being delivered.")
        body_zh = (f"自{local}起，{text}的自来水可能含有污染物，请勿饮用或用于烹饪，"
                   "可用于冲厕，恢复饮用将另行通知；应急送水已安排。")
        draft = DoNotDrinkDraft(area, text, start, subject, body_en, body_zh)
        self._audit(user, now, "draft_do_not_drink_notice",
                    {"injection_node": report.injection.node_id, "nodes": len(area.nodes),
                     "accounts": len(area.accounts), "households": area.households,
                     "threshold_mg_l": area.threshold_mg_l})
        return draft

    def issue_do_not_drink(self, user: User, draft: DoNotDrinkDraft) -> Notice:
        """Issue a draft: the notice, its targets and one message per contact, in one
        transaction (whoever may issue notices)."""
        if not user.active or not can(user.role, Ability.ISSUE_NOTICES):
            raise PermissionDeniedError(user.username, Ability.ISSUE_NOTICES.value)
        if self.notices is None:
            raise NoticeRuleError("notices go through the notice service",
                                  "none is configured here")
        store = self.notices.store
        nodes = draft.area.nodes
        node_set = set(nodes)
        targets = {c.account_id: c.node for c in self.layout.customers if c.node in node_set}
        contacts = store.contacts(nodes=nodes)
        targets.update({c.account_id: c.node_id for c in contacts})
        body = f"{draft.body_zh}\n{draft.body_en}"
        messages = []
        for contact in contacts:
            if contact.phone:
                messages.append(NewMessage(SMS, contact.phone, draft.subject, draft.body_zh))
            if contact.email:
                messages.append(NewMessage(EMAIL, contact.email, draft.subject, body))
        unreached = len(set(targets) - {c.account_id for c in contacts
                                        if c.phone or c.email})
        if unreached:
            messages.append(NewMessage(LOG, PUBLIC_POSTING, draft.subject,
                                       f"{body} [posted for {unreached} accounts without "
                                       "a contact]"))
        now = self.clock()
        return store.insert_notice({
            "kind": NoticeKind.UNPLANNED.value, "area": draft.area_text,
            "reason": "do not drink: contamination",
            "starts_at_us": to_us(draft.starts_at),
            "ends_at_us": to_us(draft.starts_at + timedelta(days=1)),
            "issued_by": user.username, "nodes": json.dumps(list(nodes)),
            "subject": draft.subject, "body_en": draft.body_en, "body_zh": draft.body_zh,
        }, sorted(targets.items()), messages, now, user)

    def _audit(self, user: User, at: datetime, action: str,
               after: dict[str, object]) -> None:
        if self.audit_engine is None:
            return
        try:
            with self.audit_engine.begin() as conn:
                # an analysis has no record id of its own: the node is in ``after``
                insert_audit(conn, at, user, action, "contamination", 0, after=after)
        except DATABASE_FAULTS as exc:
            raise StoreError(f"cannot write the audit log: {reason_of(exc)}") from exc
