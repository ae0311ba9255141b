"""Valve isolation use cases: the plan for a burst pipe, the "close these links" scenario, and
the outage notice of a plan.

A dispatcher or planner asks what isolating a pipe (or a node) takes and costs
(:class:`~waterops.emergency.isolation.IsolationPlan`, graph only, milliseconds), optionally with
its hydraulic effect (one pressure-driven EPANET run against the base run,
:mod:`waterops.emergency.closure`). The scenario page closes any links and shows who loses
water (cut off from every source) and where pressure falls. A plan becomes an outage notice:
a draft (the notice request with its text, the customers and critical users reached, and the
lead-time rules it breaks, if any; the draft is written to the audit log) that a dispatcher
issues through :class:`~waterops.service.notices.NoticeService` (which stores, queues and audits
it).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from waterops.data import demo_network_path, demo_valve_layer_path
from waterops.emergency.closure import ClosureEffect, ClosureSimulator
from waterops.emergency.isolation import IsolationPlan, Isolator
from waterops.errors import NoticeRuleError, ScenarioError, StoreError
from waterops.io.geojson import network_to_geojson
from waterops.io.inp import read_inp
from waterops.io.valve_layer import read_valve_layer
from waterops.model.accounts import Permission, User
from waterops.model.notices import (
    NoticeKind,
    NoticeRules,
    OutagePlan,
    check_plan,
    earliest_start,
    notice_text,
)
from waterops.model.utility import CriticalUser, Customer, UtilityLayout
from waterops.model.valve_layer import ValveLayer, strategic_valve_layer
from waterops.service.auth import Clock, require, utc_now
from waterops.service.notices import NoticeRequest, NoticeService
from waterops.store.accounts_store import insert_audit
from waterops.store.faults import DATABASE_FAULTS, reason_of
from waterops.store.notices_store import Notice

DEFAULT_OUTAGE_S = 8 * 3600.0
"""Outage length of a notice draft when none is given [s] (a repair of a distribution main
within a working day; a setting, not a rule)."""
MAX_SCENARIO_LINKS = 500
"""Most links one scenario may close."""
VALVE_MARK_FRACTION = 0.15
"""Where a valve is drawn: this share of the way from its node along its link's first leg."""


def load_isolator(network: str | Path | None = None, valves: str | Path | None = None,
                  layout: UtilityLayout | None = None) -> Isolator:
    """An isolator over a network file and its valve layer.

    Parameters
    ----------
    network : the .inp file (default: the bundled demo network)
    valves : the valve-layer CSV (default: the bundled demo layer for the demo network, else
        the N-1 strategic layer of :func:`~waterops.model.valve_layer.strategic_valve_layer`)
    layout : the utility's layout, for customers and critical users
    """
    path = Path(network) if network is not None else demo_network_path()
    net = read_inp(path)
    layer: ValveLayer
    if valves is not None:
        layer = read_valve_layer(valves, net)
    elif path.resolve() == demo_network_path().resolve():
        layer = read_valve_layer(demo_valve_layer_path(), net)
    else:
        layer = strategic_valve_layer(net)
    customers: tuple[Customer, ...] = layout.customers if layout else ()
    critical: tuple[CriticalUser, ...] = layout.critical_users if layout else ()
    return Isolator(net, layer, customers, critical)


@dataclass(frozen=True)
class PlanReport:
    """An isolation plan and, if asked, its hydraulic effect."""

    plan: IsolationPlan
    effect: ClosureEffect | None


@dataclass(frozen=True)
class ClosureReport:
    """What closing some links does.

    Attributes
    ----------
    closed_links : the links closed
    cut_off_nodes : nodes no source reaches any more (graph)
    customers : the customers at those nodes (account ids)
    customers_by_kind : how many of each kind
    critical_users : the critical users at those nodes
    demand_cut_off_m3s : base demand of those nodes [m³/s]
    effect : the hydraulic effect (pressure drops, unsupplied demand)
    """

    closed_links: tuple[str, ...]
    cut_off_nodes: tuple[str, ...]
    customers: tuple[str, ...]
    customers_by_kind: dict[str, int]
    critical_users: tuple[CriticalUser, ...]
    demand_cut_off_m3s: float
    effect: ClosureEffect


@dataclass(frozen=True)
class NoticeDraft:
    """The outage notice of a plan, ready to issue (or with the rules it breaks).

    Attributes
    ----------
    plan : the isolation plan
    request : what :meth:`NoticeService.issue` would be asked
    subject, body_en, body_zh : the notice's text
    customers : number of customer accounts at the nodes that lose water
    critical_users : the critical users to call first
    problems : the rules the notice breaks now (empty: it can be issued)
    """

    plan: IsolationPlan
    request: NoticeRequest
    subject: str
    body_en: str
    body_zh: str
    customers: int
    critical_users: tuple[CriticalUser, ...]
    problems: tuple[str, ...]


class IsolationService:
    """The isolation use cases over one network.

    Parameters
    ----------
    isolator : segments and plans of the network
    network_file : the .inp file, for the hydraulic step (opened on first use)
    layout : the utility's layout (DMA names for the notice's area), if any
    notices : the notice service (to issue notices), if any
    audit_engine : the database holding the audit log (drafts are written there), if any
    rules, clock, timezone : as for the notice service
    """

    def __init__(self, isolator: Isolator, network_file: str | Path, *,
                 layout: UtilityLayout | None = None, notices: NoticeService | None = None,
                 audit_engine: sa.Engine | None = None, rules: NoticeRules | None = None,
                 clock: Clock = utc_now, timezone: str = "Asia/Shanghai") -> None:
        self.isolator = isolator
        self.network_file = Path(network_file)
        self.layout = layout
        self.notices = notices
        self.audit_engine = audit_engine
        self.rules = rules or (notices.rules if notices else NoticeRules())
        self.clock = clock
        self.timezone = timezone
        self._simulator: ClosureSimulator | None = None
        self._network_geojson: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def simulator(self) -> ClosureSimulator:
        """The closure simulator (opened and its base run made on first use)."""
        with self._lock:
            if self._simulator is None:
                self._simulator = ClosureSimulator(self.network_file)
            return self._simulator

    def close(self) -> None:
        """Close the hydraulic engine, if it was opened."""
        with self._lock:
            if self._simulator is not None:
                self._simulator.close()
                self._simulator = None

    def _plan(self, pipe_id: str | None, node_id: str | None,
              failed_valves: Sequence[str] = ()) -> IsolationPlan:
        if (pipe_id is None) == (node_id is None):
            raise ScenarioError("name either a pipe (pipe_id) or a node (node_id) to isolate")
        if pipe_id is not None:
            return self.isolator.plan_for_link(pipe_id, failed_valves)
        assert node_id is not None
        return self.isolator.plan_for_node(node_id, failed_valves)

    def plan(self, user: User, *, pipe_id: str | None = None, node_id: str | None = None,
             with_hydraulics: bool = False, failed_valves: Sequence[str] = ()) -> PlanReport:
        """The plan isolating a pipe or a node (dispatchers, planners); ``failed_valves``
        will not close."""
        require(user, Permission.ISOLATION_PLAN)
        plan = self._plan(pipe_id, node_id, failed_valves)
        effect = self.simulator().effect(plan.links_to_close) if with_hydraulics else None
        return PlanReport(plan, effect)

    def plan_map(self, user: User, *, pipe_id: str | None = None, node_id: str | None = None,
                 failed_valves: Sequence[str] = ()) -> dict[str, Any]:
        """The plan as GeoJSON for the map (WGS84 when the layout names the network's CRS):
        the segment's and the unintended isolations' links and nodes (``role`` ``segment``
        or ``unintended``), the valves to close (``close``) and those that will not
        (``failed``) drawn a little way along their link from their node, and the critical
        users (``critical_user``)."""
        require(user, Permission.ISOLATION_PLAN)
        plan = self._plan(pipe_id, node_id, failed_valves)
        network = self._geojson()
        role = {**{f"node/{n}": "segment" for n in plan.isolated_nodes},
                **{f"link/{k}": "segment" for k in plan.isolated_links},
                **{f"node/{n}": "unintended" for n in plan.unintended_nodes},
                **{f"link/{k}": "unintended" for k in plan.unintended_links}}
        by_id = {f["id"]: f for f in network["features"]}
        features = [{**by_id[i], "properties": {"id": by_id[i]["properties"]["id"],
                                                "kind": by_id[i]["properties"]["kind"],
                                                "role": r}}
                    for i, r in role.items() if i in by_id]
        failed = set(plan.failed_valves)
        marks = [*plan.valves_to_close,
                 *(v for v in self.isolator.layer if v.valve_id in failed)]
        links = self.isolator.net.link_table()
        for valve in marks:
            line = by_id.get(f"link/{valve.link_id}")
            if line is None:
                continue
            pts = line["geometry"]["coordinates"]
            node1 = links.at[valve.link_id, "node1"]
            a, b = (pts[0], pts[1]) if node1 == valve.node_id else (pts[-1], pts[-2])
            at = [a[0] + VALVE_MARK_FRACTION * (b[0] - a[0]),
                  a[1] + VALVE_MARK_FRACTION * (b[1] - a[1])]
            features.append({"type": "Feature", "id": f"valve/{valve.valve_id}",
                             "geometry": {"type": "Point", "coordinates": at},
                             "properties": {"id": valve.valve_id, "kind": "isolation_valve",
                                            "link": valve.link_id, "node": valve.node_id,
                                            "role": "failed" if valve.valve_id in failed
                                            else "close"}})
        for user_ in plan.critical_users:
            point = by_id.get(f"node/{user_.node}")
            if point is not None:
                features.append({"type": "Feature", "id": f"critical/{user_.id}",
                                 "geometry": point["geometry"],
                                 "properties": {"id": user_.id, "kind": str(user_.kind),
                                                "name": user_.name, "node": user_.node,
                                                "role": "critical_user"}})
        return {"type": "FeatureCollection", "name": f"isolation of {plan.target_id}",
                "coordinate_system": network["coordinate_system"], "features": features}

    def _geojson(self) -> dict[str, Any]:
        with self._lock:
            cached = self._network_geojson
            if cached is None:
                crs = self.layout.crs if self.layout is not None else None
                cached = network_to_geojson(self.isolator.net, source_crs=crs)
                self._network_geojson = cached
            return cached

    def close_links(self, user: User, link_ids: Sequence[str]) -> ClosureReport:
        """Close ``link_ids``: who loses water and where pressure falls (dispatchers,
        planners)."""
        require(user, Permission.ISOLATION_PLAN)
        closed = tuple(dict.fromkeys(link_ids))
        if not closed:
            raise ScenarioError("close at least one link")
        if len(closed) > MAX_SCENARIO_LINKS:
            raise ScenarioError(f"close at most {MAX_SCENARIO_LINKS} links at once, "
                                f"not {len(closed)}")
        iso = self.isolator
        cut = iso.cut_off_by(closed)
        customers = iso.customers_at(cut)
        kinds: dict[str, int] = {}
        for c in customers:
            kinds[str(c.kind)] = kinds.get(str(c.kind), 0) + 1
        effect = self.simulator().effect(closed)
        return ClosureReport(closed, cut, tuple(c.account_id for c in customers),
                             dict(sorted(kinds.items())), tuple(iso.critical_users_at(cut)),
                             iso.demand_of(cut), effect)

    def notice_draft(self, user: User, *, pipe_id: str | None = None,
                     node_id: str | None = None, kind: NoticeKind = NoticeKind.UNPLANNED,
                     starts_at: datetime | None = None, ends_at: datetime | None = None,
                     reason: str | None = None, area: str | None = None,
                     failed_valves: Sequence[str] = ()) -> NoticeDraft:
        """The outage notice of the plan for a pipe or node; written to the audit log.

        Without times, an unplanned outage starts now and a planned one at the earliest the
        lead-time rules allow (on the hour); both last :data:`DEFAULT_OUTAGE_S`.
        """
        require(user, Permission.ISOLATION_PLAN)
        plan = self._plan(pipe_id, node_id, failed_valves)
        now = self.clock()
        start, end = self._times(kind, now, starts_at, ends_at)
        target = f"{'pipe' if plan.target_kind == 'link' else 'node'} {plan.target_id}"
        reason = reason or (f"repair of {target}" if kind is NoticeKind.PLANNED
                            else f"a burst on {target}")
        area = area or self._area(plan)
        request = NoticeRequest(kind, area, reason, start, end, plan.nodes_without_water)
        outage = OutagePlan(kind, start, end, now)
        problems: list[str] = []
        try:
            check_plan(outage, self.rules)
        except NoticeRuleError as exc:
            problems.append(str(exc))
        if not plan.nodes_without_water:
            problems.append("no node loses water: the valves isolate only a pipe, no notice "
                            "is needed")
        subject, body_en, body_zh = notice_text(outage, area, reason, self.timezone)
        draft = NoticeDraft(plan, request, subject, body_en, body_zh, len(plan.customers),
                            plan.critical_users, tuple(problems))
        self._audit(user, now, draft)
        return draft

    def issue_notice(self, user: User, draft: NoticeDraft) -> Notice:
        """Issue a draft through the notice service (dispatchers; it checks the rules again,
        stores, queues and audits)."""
        if self.notices is None:
            raise NoticeRuleError("notices go through the notice service",
                                  "none is configured here")
        return self.notices.issue(user, draft.request)

    def _times(self, kind: NoticeKind, now: datetime, starts_at: datetime | None,
               ends_at: datetime | None) -> tuple[datetime, datetime]:
        if starts_at is None:
            if kind is NoticeKind.UNPLANNED:
                starts_at = now
            else:
                length = ((ends_at - now).total_seconds() if ends_at is not None
                          else DEFAULT_OUTAGE_S)
                earliest = earliest_start(kind, length, now, self.rules)
                starts_at = (earliest + timedelta(minutes=59, seconds=59)).replace(
                    minute=0, second=0, microsecond=0)
        if ends_at is None:
            ends_at = starts_at + timedelta(seconds=DEFAULT_OUTAGE_S)
        return starts_at, ends_at

    def _area(self, plan: IsolationPlan) -> str:
        dmas: list[str] = []
        if self.layout is not None:
            for node in plan.nodes_without_water:
                dma = self.layout.dma_of(node)
                if dma is not None and dma.id not in dmas:
                    dmas.append(dma.id)
        target = plan.target_id
        if dmas:
            return f"part of {', '.join(dmas[:3])} (around {target})"
        return f"the area around {target}"

    def _audit(self, user: User, at: datetime, draft: NoticeDraft) -> None:
        if self.audit_engine is None:
            return
        plan = draft.plan
        try:
            with self.audit_engine.begin() as conn:
                insert_audit(conn, at, user, "draft_outage_notice", "segment", plan.segment,
                             after={"target": f"{plan.target_kind}:{plan.target_id}",
                                    "valves": [v.valve_id for v in plan.valves_to_close],
                                    "nodes": len(plan.nodes_without_water),
                                    "customers": len(plan.customers),
                                    "kind": draft.request.kind.value,
                                    "problems": len(draft.problems)})
        except DATABASE_FAULTS as exc:
            raise StoreError(f"cannot write the audit log: {reason_of(exc)}") from exc
