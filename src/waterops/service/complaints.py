"""Complaints and repair requests (投诉/报修): intake, automatic diagnosis, reply, callback,
grouping by cause, satisfaction survey.

On arrival (web portal, an agent's phone call, a messaging-app API) a complaint is placed on
the network (:class:`NetworkLocator`: the node given, the node an account is attached to, or
the nearest junction to coordinates; and the pump room serving that node, and its DMA), then
diagnosed from data (:class:`Diagnoser`): outage notices under way at the node, live alarms
and their incidents (pump room, DMA, sensors there), the pump room's own sensors over the last
hours (run through the pump-room detector), the latest pressure logged near the node and the
twin's model pressure. The result is a sentence in English and zh-CN — "Booster of pump room 3
stopped at 10:02; repair under way; incident 88 is open" — and a cause key
(``pump_room:PR03``, ``dma:DMA-04``, ``notice:12``) that joins repeated complaints about one
cause into one group. Missing data is said as such, never guessed.

The complaint, its diagnosis, the reply, the callback task (due 2 minutes after arrival) and
its join to a group are written in one transaction; the time the diagnosis took is stored.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from waterops.detection.pump_rooms import (
    PumpRoomSensors,
    PumpRoomSettings,
    pump_room_events,
    pump_room_sensors,
    room_number,
)
from waterops.errors import (
    ComplaintError,
    PermissionDeniedError,
    RecordNotFoundError,
    StoreError,
)
from waterops.model.accounts import CUSTOMER_ROLES, User
from waterops.model.alarms import LIVE_STATES, Alarm
from waterops.model.complaints import (
    CALLBACK_DUE_S,
    CATEGORY_TITLES,
    GROUPING_WINDOW_S,
    NETWORK_CATEGORIES,
    Ability,
    Channel,
    ComplaintAction,
    ComplaintCategory,
    ComplaintState,
    Finding,
    can,
    check_survey,
    next_state,
)
from waterops.model.telemetry import Quantity
from waterops.model.utility import UtilityLayout
from waterops.service.auth import Clock, utc_now
from waterops.service.connections import LogNotifier, Notification, Notifier
from waterops.store.alarms_store import AlarmStore
from waterops.store.complaints_store import (
    SUBMIT_ACTION,
    Callback,
    Complaint,
    ComplaintEvent,
    ComplaintsStore,
    ComplaintsTransaction,
    findings_to_json,
)
from waterops.store.notices_store import NoticesStore
from waterops.store.telemetry_store import TelemetryStore

log = logging.getLogger(__name__)

T = TypeVar("T")
ModelPressure = Callable[[str], float | None]
"""The twin's port: pressure the model computes at a node now [m], or None."""


# -- where ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a complaint is on the network, and how that was found (``how``)."""

    node_id: str | None
    pump_room_id: str | None
    dma_id: str | None
    account_id: str | None
    how: str


class NetworkLocator:
    """Places a complaint on the network.

    Parameters
    ----------
    layout : the utility's layout (customers attached to nodes, pump rooms, DMAs)
    node_xy : node coordinates in the network's CRS (index node id, columns ``x``, ``y`` [m])
    """

    def __init__(self, layout: UtilityLayout, node_xy: pd.DataFrame) -> None:
        self.layout = layout
        self._accounts = {c.account_id: c.node for c in layout.customers}
        junctions = node_xy.loc[[n for n in node_xy.index if self._is_junction(str(n))]]
        self._ids = np.array([str(n) for n in junctions.index])
        self._tree = cKDTree(junctions[["x", "y"]].to_numpy(dtype=float))
        self._known = {str(n) for n in node_xy.index}
        self._rooms = {r.served_node: r.id for r in layout.pump_rooms}
        self._to_network: Callable[[float, float], tuple[float, float]] | None = None

    def _is_junction(self, node_id: str) -> bool:
        # tanks and reservoirs are nobody's address; the pump rooms' high zones are
        return not node_id.endswith(("-TANK", "-CLEARWELL")) and not node_id.startswith("RES-")

    def locate(self, *, node_id: str | None = None, account_id: str | None = None,
               x_m: float | None = None, y_m: float | None = None,
               longitude: float | None = None, latitude: float | None = None,
               fallback_accounts: Sequence[tuple[str, str]] = ()) -> Location:
        """The node of the complaint: given, an account's, nearest to coordinates (network
        CRS [m], or WGS 84 degrees), else the first of ``fallback_accounts`` ((account, node)
        of the caller); a node of nobody is ``None``."""
        how = "node given"
        if node_id is not None and node_id not in self._known:
            raise ComplaintError(f"node {node_id!r} is not in the network model")
        if node_id is None and account_id is not None:
            node_id, how = self._account_node(account_id), f"account {account_id}"
        if node_id is None and longitude is not None and latitude is not None:
            x_m, y_m = self._project(longitude, latitude)
            how = f"nearest junction to {longitude:.5f}, {latitude:.5f}"
        elif node_id is None and x_m is not None and y_m is not None:
            how = f"nearest junction to x {x_m:.0f} m, y {y_m:.0f} m"
        if node_id is None and x_m is not None and y_m is not None:
            _, i = self._tree.query([x_m, y_m])
            node_id = str(self._ids[int(i)])
        if node_id is None and fallback_accounts:
            account_id, node_id = fallback_accounts[0]
            how = f"the caller's account {account_id}"
        if node_id is None:
            return Location(None, None, None, account_id, "no location given")
        room_id = self._rooms.get(node_id)
        # a building's high zone is outside every DMA: the room's city feed is in one
        fed_from = node_id if room_id is None else self.layout.pump_room(room_id).city_node
        dma = self.layout.dma_of(fed_from)
        return Location(node_id, room_id, None if dma is None else dma.id, account_id, how)

    def _account_node(self, account_id: str) -> str:
        node = self._accounts.get(account_id)
        if node is None:
            raise ComplaintError(f"customer account {account_id!r} is not attached to the "
                                 "network (unknown account)")
        return node

    def _project(self, longitude: float, latitude: float) -> tuple[float, float]:
        if self._to_network is None:
            if not self.layout.crs:
                raise ComplaintError("the network has no coordinate system: give x/y or a "
                                     "node, not longitude/latitude")
            from pyproj import Transformer  # only when a caller gives degrees

            tr = Transformer.from_crs("EPSG:4326", self.layout.crs, always_xy=True)
            self._to_network = lambda lon, lat: tr.transform(lon, lat)
        return self._to_network(longitude, latitude)


# -- why -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnosis:
    """The automatic diagnosis of one complaint."""

    summary: str
    summary_zh: str
    findings: tuple[Finding, ...]
    cause_key: str | None
    alarm_incident_id: int | None = None
    restore_at: datetime | None = None


@dataclass
class Diagnoser:
    """Explains a complaint from the data at hand; each source is optional.

    Parameters
    ----------
    layout : the utility's layout
    telemetry : the telemetry store (pump-room sensors, pressure loggers)
    alarms : the alarm store (live alarms, incidents)
    notices : the notices store (outages under way)
    model_pressure : the twin's pressure at a node [m]
    settings : the pump-room detector's settings (minimum pressure, clock)
    lookback_s : how far back pump-room readings are read [s]
    """

    layout: UtilityLayout
    telemetry: TelemetryStore | None = None
    alarms: AlarmStore | None = None
    notices: NoticesStore | None = None
    model_pressure: ModelPressure | None = None
    settings: PumpRoomSettings = field(default_factory=PumpRoomSettings)
    lookback_s: float = 3 * 3600.0

    def __post_init__(self) -> None:
        self._room_sensors = {s.room_id: s for s in pump_room_sensors(self.layout)}

    def diagnose(self, category: ComplaintCategory, where: Location, at: datetime) -> Diagnosis:
        """The diagnosis of a complaint of ``category`` at ``where``, received at ``at``."""
        title, title_zh = CATEGORY_TITLES[category]
        if category not in NETWORK_CATEGORIES:
            text = f"A {title} question goes to the account team; an agent will call you back."
            return Diagnosis(text, f"{title_zh}问题已转客户服务专员，将尽快回电。",
                             (Finding("rules", "not a network fault", "非管网问题"),), None)
        if where.node_id is None:
            f = Finding("layout", "the location is not matched to the network",
                        "未能将地址匹配到管网节点")
            return Diagnosis("We could not place the address on the network yet; an agent "
                             "will call you back to confirm it.",
                             "暂未能将地址匹配到管网，客服将回电确认地址。", (f,), None)
        findings: list[Finding] = []
        causes: list[tuple[str, str, str]] = []  # (cause key, English, zh-CN), strongest first
        # strongest first: the room's own data, then alarms, then notices, then loggers;
        # a source that fails is reported as a finding, the others still speak
        if where.pump_room_id is not None:
            room = where.pump_room_id
            self._guarded("telemetry", findings,
                          lambda: self._pump_room(room, at, findings, causes))
        incident_id = self._guarded("alarm", findings,
                                    lambda: self._alarms(where, findings, causes))
        restore_at = self._guarded("notice", findings,
                                   lambda: self._notices(where, at, findings, causes))
        self._guarded("telemetry", findings,
                      lambda: self._pressure(where, at, findings, causes))
        return self._summary(category, where, findings, causes, incident_id, restore_at)

    @staticmethod
    def _guarded(source: str, findings: list[Finding], read: Callable[[], T]) -> T | None:
        try:
            return read()
        except StoreError as exc:
            log.warning("complaint diagnosis: %s source failed: %s", source, exc)
            findings.append(Finding(source, f"{source} data unavailable: {exc}",
                                    f"{source}数据暂不可用"))
            return None

    # -- the sources -------------------------------------------------------------------------

    def _notices(self, where: Location, at: datetime, findings: list[Finding],
                 causes: list[tuple[str, str, str]]) -> datetime | None:
        if self.notices is None or where.node_id is None:
            return None
        restore = None
        for notice in self.notices.notices_at(where.node_id, at):
            back = _hhmm(notice.ends_at, self.settings.timezone)
            en = (f"{notice.kind.value} outage notice {notice.id} ({notice.reason}): "
                  f"water back by {back}")
            zh = f"停水通知{notice.id}（{notice.reason}）：预计{back}恢复供水"
            findings.append(Finding("notice", en, zh))
            causes.append((f"notice:{notice.id}", en, zh))
            restore = notice.ends_at if restore is None else max(restore, notice.ends_at)
        return restore

    def _alarms(self, where: Location, findings: list[Finding],
                causes: list[tuple[str, str, str]]) -> int | None:
        if self.alarms is None:
            return None
        keys = {f"dma:{where.dma_id}", f"node:{where.node_id}"}
        sources = {where.node_id, where.dma_id}
        if where.pump_room_id is not None:
            keys.add(f"pump_room:{where.pump_room_id}")
            sources.add(where.pump_room_id)
            room = self._room_sensors.get(where.pump_room_id)
            sources.update(room.all_sensors if room else ())
        sources.update(s.id for s in self.layout.sensors if s.element_id == where.node_id)
        relevant: list[Alarm] = [a for a in self.alarms.alarms(LIVE_STATES)
                                 if a.group_key in keys or a.source in sources]
        relevant.sort(key=lambda a: (a.severity.rank, -a.raised_at.timestamp()))
        incident = None
        for alarm in relevant[:3]:
            en = alarm.message or f"{alarm.kind} alarm on {alarm.source}"
            zh = alarm.message_zh or f"{alarm.source}告警：{alarm.kind}"
            if alarm.incident_id is not None:
                en += f"; incident {alarm.incident_id} is open"
                zh += f"；事件{alarm.incident_id}处理中"
                incident = incident or alarm.incident_id
            findings.append(Finding("alarm", en, zh, alarm.value, alarm.unit))
            causes.append((alarm.group_key or f"alarm:{alarm.id}", en, zh))
        return incident

    def _pump_room(self, room_id: str, at: datetime, findings: list[Finding],
                   causes: list[tuple[str, str, str]]) -> None:
        n = room_number(room_id)
        sensors = self._room_sensors.get(room_id)
        table = None if sensors is None else self._readings(sensors, at)
        if sensors is None or table is None or table.empty:
            findings.append(Finding("telemetry",
                                    f"no readings from pump room {n} in the last "
                                    f"{self.lookback_s / 3600:g} h",
                                    f"{n}号泵房近{self.lookback_s / 3600:g}小时无监测数据"))
            return
        events = pump_room_events(table, sensors, self.settings)
        last = events[-1] if events else None
        if last is not None and last.active:
            findings.append(Finding("telemetry", last.message, last.message_zh,
                                    last.pressure_m, "m"))
            causes.append((f"pump_room:{room_id}", last.message, last.message_zh))
            return
        pressure = table[sensors.building_pressure].dropna() \
            if sensors.building_pressure in table else pd.Series(dtype=float)
        if pressure.empty:
            findings.append(Finding("telemetry", f"pump room {n}: no building pressure reading",
                                    f"{n}号泵房无楼内压力数据"))
            return
        value, when = float(pressure.iloc[-1]), pressure.index[-1].to_pydatetime()
        findings.append(Finding(
            "telemetry",
            f"pump room {n}: building pressure {value:.1f} m at "
            f"{_hhmm(when, self.settings.timezone)}, no fault detected",
            f"{n}号泵房楼内压力{value:.1f}米（{_hhmm(when, self.settings.timezone)}），未见异常",
            value, "m"))

    def _readings(self, sensors: PumpRoomSensors, at: datetime) -> pd.DataFrame | None:
        if self.telemetry is None:
            return None
        start = at - timedelta(seconds=self.lookback_s)
        known = {s.id for s in self.telemetry.sensors()}
        columns = {}
        for sensor_id in sensors.all_sensors:
            if sensor_id not in known:
                continue
            frame = self.telemetry.readings(sensor_id, start, at + timedelta(microseconds=1))
            if not frame.empty:
                columns[sensor_id] = pd.Series(frame["value"].to_numpy(),
                                               index=pd.DatetimeIndex(frame["time"]))
        if not columns:
            return None
        return pd.DataFrame(columns).sort_index()

    def _pressure(self, where: Location, at: datetime, findings: list[Finding],
                  causes: list[tuple[str, str, str]]) -> None:
        node = where.node_id
        assert node is not None
        dma = next((d for d in self.layout.dmas if d.id == where.dma_id), None)
        places = [node] if dma is None else [node, dma.pressure_node, dma.critical_node]
        loggers = [s.id for s in self.layout.sensors
                   if s.quantity is Quantity.PRESSURE and s.element_id in places]
        low_network = False
        if self.telemetry is not None and loggers:
            latest = self.telemetry.latest(loggers)
            recent = latest[latest["time"] >= pd.Timestamp(at - timedelta(hours=1))]
            for sensor_id, value in zip(recent["sensor_id"], recent["value"].astype(float),
                                        strict=True):
                low = value < self.settings.min_pressure_m
                low_network |= low
                state, state_zh = ("below", "低于") if low else ("above", "高于")
                findings.append(Finding(
                    "telemetry",
                    f"logger {sensor_id}: {value:.1f} m, {state} the "
                    f"{self.settings.min_pressure_m:.1f} m service minimum",
                    f"测压点{sensor_id}：{value:.1f}米，{state_zh}最低服务压力"
                    f"{self.settings.min_pressure_m:.1f}米", value, "m"))
            if recent.empty:
                findings.append(Finding("telemetry", "no pressure logged near the node in the "
                                        "last hour", "附近测压点近1小时无数据"))
        if self.model_pressure is not None:
            model = self.model_pressure(node)
            if model is not None and not math.isnan(model):
                findings.append(Finding("twin", f"model pressure at {node}: {model:.1f} m",
                                        f"模型计算{node}压力{model:.1f}米", model, "m"))
                low_network |= model < self.settings.min_pressure_m
        if low_network and where.dma_id is not None:
            causes.append((f"dma:{where.dma_id}",
                           f"network pressure in {where.dma_id} is below the service minimum; "
                           "dispatch is on it",
                           f"{where.dma_id}片区管网压力低于最低服务压力，调度正在处理"))

    def _summary(self, category: ComplaintCategory, where: Location,
                 findings: list[Finding], causes: list[tuple[str, str, str]],
                 incident_id: int | None, restore_at: datetime | None) -> Diagnosis:
        key: str | None
        if causes:
            # the strongest cause speaks; then the open incident and when water is back
            key, en, zh = causes[0]
            if incident_id is not None and "incident" not in en:
                en, zh = f"{en}; incident {incident_id} is open", f"{zh}；事件{incident_id}处理中"
            if restore_at is not None and not key.startswith("notice:"):
                back = _hhmm(restore_at, self.settings.timezone)
                en, zh = f"{en}; water back by {back}", f"{zh}；预计{back}恢复供水"
        else:
            title, title_zh = CATEGORY_TITLES[category]
            key = None if where.dma_id is None else f"dma:{where.dma_id}:{category.value}"
            en = (f"No fault is known at {where.node_id} yet ({title}); the data near it are "
                  "listed for the agent, who will call you back.")
            zh = f"{where.node_id}附近暂未发现故障（{title_zh}），客服将根据监测数据回电说明。"
            if not findings:
                findings.append(Finding("telemetry", "no data near the node",
                                        "该节点附近无监测数据"))
        return Diagnosis(en, zh, tuple(findings), key, incident_id, restore_at)


def _hhmm(when: datetime, timezone: str) -> str:
    return when.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


# -- use cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintForm:
    """What a customer (or an agent for them) tells us.

    Coordinates: ``x_m``/``y_m`` in the network's CRS [m], or ``longitude``/``latitude``
    [degrees, WGS 84].
    """

    channel: Channel
    category: ComplaintCategory
    description: str = ""
    contact_phone: str = ""
    location_text: str = ""
    node_id: str | None = None
    account_id: str | None = None
    x_m: float | None = None
    y_m: float | None = None
    longitude: float | None = None
    latitude: float | None = None
    customer_id: int | None = None


STAFF_ACTIONS: dict[ComplaintAction, Ability] = {
    ComplaintAction.DIAGNOSE: Ability.HANDLE,
    ComplaintAction.REPLY: Ability.HANDLE,
    ComplaintAction.LOG_CALLBACK: Ability.HANDLE,
    ComplaintAction.CLOSE: Ability.HANDLE,
    ComplaintAction.REOPEN: Ability.HANDLE,
    ComplaintAction.ESCALATE: Ability.ESCALATE,
}
"""What an action on a complaint needs (``merge`` is the diagnosis's own: same cause)."""


class ComplaintService:
    """The complaint use cases.

    Parameters
    ----------
    store : the complaints repository
    locator : places complaints on the network
    diagnoser : the automatic diagnosis
    notices : customer contacts (a caller's account) — optional
    clock : the current time (injected in tests)
    notifier : the notification port (the reply to the customer)
    callback_due_s : time from arrival to the callback [s]
    grouping_window_s : complaints about one cause within this time join one group [s]
    """

    def __init__(self, store: ComplaintsStore, locator: NetworkLocator, diagnoser: Diagnoser,
                 *, notices: NoticesStore | None = None, clock: Clock = utc_now,
                 notifier: Notifier | None = None, callback_due_s: float = CALLBACK_DUE_S,
                 grouping_window_s: float = GROUPING_WINDOW_S) -> None:
        self.store = store
        self.locator = locator
        self.diagnoser = diagnoser
        self.notices = notices
        self.clock = clock
        self.notifier: Notifier = notifier or LogNotifier()
        self.callback_due_s = callback_due_s
        self.grouping_window_s = grouping_window_s

    # -- intake --------------------------------------------------------------------------------

    def file(self, user: User, form: ComplaintForm) -> Complaint:
        """Take a complaint, diagnose it, reply, set the callback task, join its group."""
        customer_id = self._filer(user, form)
        own = [] if self.notices is None or customer_id is None else [
            (c.account_id, c.node_id) for c in self.notices.contacts(user_id=customer_id)]
        where = self.locator.locate(
            node_id=form.node_id, account_id=form.account_id, x_m=form.x_m, y_m=form.y_m,
            longitude=form.longitude, latitude=form.latitude, fallback_accounts=own)
        received = self.clock()
        started = time.perf_counter()
        diagnosis = self.diagnoser.diagnose(form.category, where, received)
        took_s = time.perf_counter() - started
        actor = user.username
        due = received + timedelta(seconds=self.callback_due_s)
        with self.store.transaction() as tx:
            cid = tx.insert_complaint({
                "customer_id": customer_id, "taken_by_id": None if customer_id == user.id
                else user.id, "channel": form.channel.value, "category": form.category.value,
                "description": form.description, "contact_phone": form.contact_phone,
                "location_text": form.location_text, "account_id": where.account_id,
                "node_id": where.node_id, "pump_room_id": where.pump_room_id,
                "dma_id": where.dma_id,
            }, received)
            tx.add_event(cid, received, SUBMIT_ACTION, None, ComplaintState.RECEIVED, actor,
                         f"{form.channel.value}; located: {where.how}")
            self._record_diagnosis(tx, cid, ComplaintState.RECEIVED, diagnosis, took_s,
                                   received)
            self._move(tx, cid, ComplaintState.DIAGNOSED, ComplaintAction.REPLY, received,
                       "system", diagnosis.summary)
            tx.add_callback(cid, received, due)
            if diagnosis.cause_key is not None:
                since = received - timedelta(seconds=self.grouping_window_s)
                lead = tx.group_lead(diagnosis.cause_key, since, cid)
                if lead is not None:
                    self._move(tx, cid, ComplaintState.REPLIED, ComplaintAction.MERGE, received,
                               "system", f"same cause as complaint {lead.id}",
                               group_lead_id=lead.id)
            if user.is_staff:
                tx.add_audit(received, user, "take_complaint", cid,
                             after={"channel": form.channel.value,
                                    "category": form.category.value})
            complaint = tx.complaint(cid)
        self._reply(complaint, due)
        return complaint

    def _filer(self, user: User, form: ComplaintForm) -> int | None:
        if not user.active:
            raise PermissionDeniedError(user.username, "complaints:file")
        if user.role in CUSTOMER_ROLES:
            if form.channel is Channel.PHONE:
                raise ComplaintError("a phone complaint is taken by a service agent")
            if form.customer_id not in (None, user.id):
                raise PermissionDeniedError(user.username, "complaints:file_for_others")
            return user.id
        if not can(user.role, Ability.TAKE_PHONE):
            raise PermissionDeniedError(user.username, Ability.TAKE_PHONE.value)
        return form.customer_id

    def _record_diagnosis(self, tx: ComplaintsTransaction, cid: int, before: ComplaintState,
                          diagnosis: Diagnosis, took_s: float, at: datetime) -> None:
        after = next_state(before, ComplaintAction.DIAGNOSE, cid)
        tx.update(cid, at, state=after, diagnosis_s=took_s, diagnosis_en=diagnosis.summary,
                  diagnosis_zh=diagnosis.summary_zh,
                  findings=findings_to_json(diagnosis.findings), cause_key=diagnosis.cause_key,
                  alarm_incident_id=diagnosis.alarm_incident_id)
        tx.add_event(cid, at, ComplaintAction.DIAGNOSE.value, before, after, "system",
                     f"{took_s * 1000:.0f} ms")

    def _move(self, tx: ComplaintsTransaction, cid: int, before: ComplaintState,
              action: ComplaintAction, at: datetime, actor: str, note: str = "",
              **values: object) -> ComplaintState:
        after = next_state(before, action, cid)
        tx.update(cid, at, state=after, **values)
        tx.add_event(cid, at, action.value, before, after, actor, note)
        return after

    def _reply(self, complaint: Complaint, callback_by: datetime) -> None:
        if complaint.customer_id is None:
            return
        by = _hhmm(callback_by, self.diagnoser.settings.timezone)
        try:
            self.notifier.send(Notification(
                complaint.customer_id, f"Complaint {complaint.id} received",
                f"{complaint.diagnosis_en} An agent will call you back by {by}. / "
                f"{complaint.diagnosis_zh} 客服将于{by}前回电。",
                complaint.received_at, "complaint", complaint.id))
        except Exception:  # the complaint is stored; a broken adapter must not undo it
            log.exception("reply to complaint %d failed", complaint.id)

    # -- work on a complaint ---------------------------------------------------------------------

    def act(self, user: User, complaint_id: int, action: ComplaintAction, note: str = ""
            ) -> Complaint:
        """Staff move a complaint (callback logged, close, escalate, reopen, re-diagnose …);
        a customer may reopen their own closed complaint."""
        current = self.get(user, complaint_id)
        by_owner = user.role in CUSTOMER_ROLES
        if by_owner and action is not ComplaintAction.REOPEN:
            raise PermissionDeniedError(user.username, f"complaints:{action.value}",
                                        f"complaint {complaint_id}")
        if action is ComplaintAction.MERGE:
            raise ComplaintError("complaints are merged by their diagnosis (same cause), "
                                 "not by hand")
        if not by_owner and not can(user.role, STAFF_ACTIONS[action]):
            raise PermissionDeniedError(user.username, STAFF_ACTIONS[action].value,
                                        f"complaint {complaint_id}")
        diagnosis, took_s = None, 0.0
        if action is ComplaintAction.DIAGNOSE:
            where = self.locator.locate(node_id=current.node_id) if current.node_id \
                else self.locator.locate()
            started = time.perf_counter()
            diagnosis = self.diagnoser.diagnose(current.category, where, self.clock())
            took_s = time.perf_counter() - started
        now = self.clock()
        with self.store.transaction() as tx:
            before = tx.complaint(complaint_id)
            if diagnosis is not None:
                self._record_diagnosis(tx, complaint_id, before.state, diagnosis, took_s, now)
            else:
                self._move(tx, complaint_id, before.state, action, now, user.username, note)
            if action is ComplaintAction.LOG_CALLBACK:
                tx.complete_callback(complaint_id, now, user, note)
            if action is ComplaintAction.REPLY:
                tx.add_callback(complaint_id, now,
                                now + timedelta(seconds=self.callback_due_s))
            if user.is_staff:
                tx.add_audit(now, user, f"complaint_{action.value}", complaint_id,
                             before={"state": before.state.value},
                             after={"state": next_state(before.state, action).value,
                                    "note": note})
            return tx.complaint(complaint_id)

    def survey(self, user: User, complaint_id: int, score: int, comment: str = ""
               ) -> Complaint:
        """The satisfaction answer after closing (the customer, or an agent on the phone)."""
        complaint = self.get(user, complaint_id)
        if user.is_staff and not can(user.role, Ability.HANDLE):
            raise PermissionDeniedError(user.username, Ability.HANDLE.value)
        now = self.clock()
        with self.store.transaction() as tx:
            current = tx.complaint(complaint_id)
            check_survey(complaint_id, current.state, score, current.survey is not None)
            tx.add_survey(complaint.id, now, score, comment)
            if user.is_staff:
                tx.add_audit(now, user, "complaint_survey", complaint_id,
                             after={"score": score})
            return tx.complaint(complaint_id)

    # -- reads ---------------------------------------------------------------------------------

    def get(self, user: User, complaint_id: int) -> Complaint:
        """A complaint ``user`` may see (another customer's is "not found")."""
        complaint = self.store.complaint(complaint_id)
        if user.active and (can(user.role, Ability.READ_ALL) or (
                user.role in CUSTOMER_ROLES and complaint.customer_id == user.id)):
            return complaint
        raise RecordNotFoundError("complaint", complaint_id)

    def visible(self, user: User, *, state: ComplaintState | None = None, limit: int = 50,
                offset: int = 0) -> tuple[list[Complaint], int]:
        """A page of the complaints ``user`` may see, and their total."""
        if can(user.role, Ability.READ_ALL) and user.active:
            return self.store.complaints(state=state, limit=limit, offset=offset)
        if user.role in CUSTOMER_ROLES and user.active:
            return self.store.complaints(customer_id=user.id, state=state, limit=limit,
                                         offset=offset)
        raise PermissionDeniedError(user.username, Ability.READ_ALL.value)

    def open_callbacks(self, user: User) -> list[Callback]:
        """Callback tasks not done yet, the most urgent first (agents)."""
        if not user.active or not can(user.role, Ability.HANDLE):
            raise PermissionDeniedError(user.username, Ability.HANDLE.value, "callbacks")
        return self.store.open_callbacks()

    def history(self, user: User, complaint_id: int) -> list[ComplaintEvent]:
        """The history of a complaint ``user`` may see."""
        self.get(user, complaint_id)
        return self.store.events(complaint_id)

    def group(self, user: User, complaint_id: int) -> list[int]:
        """Ids of the complaints that share this one's cause (staff)."""
        complaint = self.get(user, complaint_id)
        if not can(user.role, Ability.READ_ALL):
            raise PermissionDeniedError(user.username, Ability.READ_ALL.value)
        return self.store.group(complaint.group_lead_id or complaint.id)


def time_to_callback_s(complaint: Complaint) -> float | None:
    """Time from arrival to the logged callback [s], or None before it."""
    cb = complaint.callback
    if cb is None or cb.done_at is None:
        return None
    return (cb.done_at - complaint.received_at).total_seconds()
