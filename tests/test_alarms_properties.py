"""Property: whatever operators and detectors do to an alarm, in any order, the service ends
where the declared state machine says, refuses exactly the undeclared steps, and writes one
audit line per step it takes."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from waterops.errors import AlarmTransitionError
from waterops.model.alarms import TRANSITIONS, AlarmAction, AlarmSignal, AlarmState, Severity
from waterops.service.alarms import AlarmService, AlarmSettings, KindPolicy
from waterops.store.alarms_store import AlarmStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEPS = ["ack", "assign", "resolve", "condition_ended", "condition_back"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(STEPS), max_size=8))
def test_any_sequence_follows_the_declared_machine(steps: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = AlarmStore.open(f"sqlite:///{Path(tmp) / 'a.db'}")
        try:
            service = AlarmService(store, settings=AlarmSettings(
                default_policy=KindPolicy(auto_clear=True, auto_close=False)))
            first = service.report(AlarmSignal("k", "S1", "c", True, T0, Severity.MINOR))
            assert first is not None
            state, taken = AlarmState.RAISED, 1
            for k, step in enumerate(steps):
                when = T0 + timedelta(minutes=k + 1)
                if step in ("condition_ended", "condition_back"):
                    active = step == "condition_back"
                    before = state
                    if not active and state.is_open:
                        state = TRANSITIONS[(state, AlarmAction.CLEAR)]
                    elif active and state is AlarmState.CLEARED:
                        state = TRANSITIONS[(state, AlarmAction.REOPEN)]
                    elif active and state.is_final:
                        break  # a new alarm would be raised: another story
                    service.report(AlarmSignal("k", "S1", "c", active, when, Severity.MINOR))
                    taken += state is not before
                    continue
                action = {"ack": AlarmAction.ACKNOWLEDGE, "assign": AlarmAction.ASSIGN,
                          "resolve": AlarmAction.RESOLVE}[step]
                allowed = (state, action) in TRANSITIONS
                try:
                    if step == "ack":
                        service.acknowledge(first.id, by="op")
                    elif step == "assign":
                        service.assign(first.id, to="crew", by="op")
                    else:
                        service.resolve(first.id, "other", by="op")
                except AlarmTransitionError:
                    assert not allowed
                else:
                    assert allowed
                    state = TRANSITIONS[(state, action)]
                    taken += 1
            assert service.alarm(first.id).state is state
            assert len(store.audit("alarm", first.id)) == taken
            assert len(store.history(first.id)) == taken
        finally:
            store.close()
