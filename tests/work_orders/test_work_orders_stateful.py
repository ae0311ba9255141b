"""A Hypothesis state machine drives the work-order service on SQLite: whatever the sequence
of actions by whom, the stored state is the model's, refused actions store nothing, a crew
never moves another crew's order, and the history has one line per accepted action."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from waterops.errors import (
    PermissionDeniedError,
    RecordNotFoundError,
    WorkOrderTransitionError,
)
from waterops.model.accounts import Role, User
from waterops.model.work_orders import (
    TRANSITIONS,
    Material,
    Priority,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
)
from waterops.service.work_orders import WorkOrderDraft, WorkOrderService
from waterops.store.accounts_store import AccountsStore

from .conftest import T0, Clock

A = WorkOrderAction


class WorkOrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._dir = TemporaryDirectory()
        self.accounts = AccountsStore.open(f"sqlite:///{Path(self._dir.name) / 'sm.db'}")
        self.clock = Clock(T0)
        self.service = WorkOrderService(self.accounts.engine, clock=self.clock)
        make = self.accounts.create_user
        self.dispatcher = make("disp", "h", Role.DISPATCHER, at=T0)
        self.crews = [make(f"crew{i}", "h", Role.FIELD_CREW, at=T0) for i in range(2)]
        self.expected: dict[int, tuple[WorkOrderState, int | None]] = {}  # state, assignee
        self.accepted: dict[int, int] = {}  # order -> accepted actions (history lines)

    def teardown(self) -> None:
        self.accounts.close()
        self._dir.cleanup()

    @rule(kind=st.sampled_from(list(WorkOrderKind)))
    def create(self, kind: WorkOrderKind) -> None:
        order = self.service.create(self.dispatcher, WorkOrderDraft(kind, "job",
                                                                    Priority.URGENT))
        self.expected[order.id] = (WorkOrderState.CREATED, None)
        self.accepted[order.id] = 1

    def _try(self, order_id: int, action: WorkOrderAction, actor: User, call: object) -> None:
        state, assignee = self.expected[order_id]
        allowed = action in TRANSITIONS[state]
        is_crew = actor.role is Role.FIELD_CREW
        if is_crew and action not in (A.DEPART, A.ARRIVE, A.REPAIR):
            with pytest.raises(PermissionDeniedError):
                call()  # type: ignore[operator]
            return
        if is_crew and assignee != actor.id:
            with pytest.raises(RecordNotFoundError):
                call()  # type: ignore[operator]
            return
        if not allowed:
            with pytest.raises(WorkOrderTransitionError):
                call()  # type: ignore[operator]
            return
        order = call()  # type: ignore[operator]
        new_assignee = order.assignee_id
        self.expected[order_id] = (TRANSITIONS[state][action], new_assignee)
        self.accepted[order_id] += 1

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), crew=st.integers(0, 1))
    def assign(self, data: st.DataObject, crew: int) -> None:
        oid = data.draw(st.sampled_from(sorted(self.expected)))
        self._try(oid, A.ASSIGN, self.dispatcher,
                  lambda: self.service.assign(self.dispatcher, oid, self.crews[crew].id))

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), who=st.integers(-1, 1),
          action=st.sampled_from([A.DEPART, A.ARRIVE]))
    def field_status(self, data: st.DataObject, who: int, action: WorkOrderAction) -> None:
        oid = data.draw(st.sampled_from(sorted(self.expected)))
        actor = self.dispatcher if who < 0 else self.crews[who]
        self._try(oid, action, actor, lambda: self.service.update_status(actor, oid, action))

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), who=st.integers(-1, 1))
    def repair(self, data: st.DataObject, who: int) -> None:
        oid = data.draw(st.sampled_from(sorted(self.expected)))
        actor = self.dispatcher if who < 0 else self.crews[who]
        self._try(oid, A.REPAIR, actor, lambda: self.service.repair(
            actor, oid, "leak", [Material("clamp", 1, "pcs")]))

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), who=st.integers(-1, 1))
    def close(self, data: st.DataObject, who: int) -> None:
        oid = data.draw(st.sampled_from(sorted(self.expected)))
        actor = self.dispatcher if who < 0 else self.crews[who]
        self._try(oid, A.CLOSE, actor,
                  lambda: self.service.close(actor, oid, cause="pipe_burst"))

    @precondition(lambda self: self.expected)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        oid = data.draw(st.sampled_from(sorted(self.expected)))
        self._try(oid, A.CANCEL, self.dispatcher,
                  lambda: self.service.cancel(self.dispatcher, oid, "duplicate"))

    @rule(minutes=st.integers(1, 120))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @invariant()
    def stored_is_expected(self) -> None:
        for oid, (state, assignee) in self.expected.items():
            order = self.service.get(self.dispatcher, oid)
            assert order.state is state
            assert order.assignee_id == assignee
            assert len(self.service.history(self.dispatcher, oid)) == self.accepted[oid]
            if state is WorkOrderState.REPAIRED:
                assert order.cause == "leak" and len(order.materials) == 1
            for crew in self.crews:
                mine = {o.id for o in self.service.visible(crew)[0]}
                assert (oid in mine) == (assignee == crew.id)


WorkOrderMachine.TestCase.settings = settings(
    max_examples=8, stateful_step_count=10, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestWorkOrderMachine = WorkOrderMachine.TestCase


