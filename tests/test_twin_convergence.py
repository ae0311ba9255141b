"""The twin says when EPANET did not converge: small networks that cannot balance a period,
or balance it with warnings, and one that solves cleanly."""

from __future__ import annotations

from pathlib import Path

import epanet.toolkit as tk
import pytest

from problem_networks import DEMAND_JUMP, TROUBLED
from waterops.hydraulics.results import SimulationWarning
from waterops.service.twin import Twin, TwinSettings, TwinState
from waterops.service.twin_project import TwinProject, converged

SETTINGS = TwinSettings(interval_s=300, source_shares=False)
TIMES_S = (0, 1800, 3600, 5400, 7200, 10800)


def network(tmp_path: Path, text: str, name: str = "net.inp") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def follow(path: Path) -> list[TwinState]:
    """A twin without sensors (the model on its own logic), updated at :data:`TIMES_S`."""
    with Twin(path, [], settings=SETTINGS) as twin:
        return [twin.update(t, {}) for t in TIMES_S]


def kinds(state: TwinState) -> set[str]:
    return {w.kind for w in state.engine_warnings}


def test_a_sound_network_converges_without_warnings(tmp_path: Path) -> None:
    quiet = DEMAND_JUMP.replace("Trials 1", "Trials 40").replace("100  PAT", "1  PAT")
    states = follow(network(tmp_path, quiet))
    for state in states:
        assert state.hydraulics_converged, state.time_s
        assert state.engine_warnings == () and state.unconverged_updates == 0
        assert (state.pressure_m[["J1", "J2", "J3", "J4"]] > 0).all()


def test_trials_running_out_at_a_demand_jump_mark_the_update_unconverged(
    tmp_path: Path,
) -> None:
    states = follow(network(tmp_path, DEMAND_JUMP))
    converged_at = {s.time_s: s.hydraulics_converged for s in states}
    # the demand jumps at every full hour; between jumps one trial follows the last solution
    assert converged_at == {0: False, 1800: True, 3600: False, 5400: True, 7200: False,
                            10800: False}
    assert [s.unconverged_updates for s in states] == [1, 0, 1, 0, 1, 2]
    at_3600 = states[2]
    unstable = [w for w in at_3600.engine_warnings if w.kind == "unstable"]
    assert [w.time_s for w in unstable] == [3600]  # utility time of the solve that warned
    assert "trials" in unstable[0].message.lower()
    # the report is emptied after reading: an update without warnings shows none of before
    assert states[3].engine_warnings == ()
    # EPANET's own clock is left out of the words: time_s is the utility time
    assert not any(" hrs" in w.message for s in states for w in s.engine_warnings)


def test_negative_pressures_and_disconnected_nodes_are_warnings_of_a_converged_state(
    tmp_path: Path,
) -> None:
    with Twin(network(tmp_path, TROUBLED), [], settings=SETTINGS) as twin:
        state = twin.update(0, {})
        later = twin.update(900, {})  # solved at 300, 600 and 900 s: the same warnings
    assert state.hydraulics_converged and later.hydraulics_converged
    assert sorted((w.kind, w.element) for w in later.engine_warnings) == sorted(
        (w.kind, w.element) for w in state.engine_warnings)  # once each
    assert {w.time_s for w in later.engine_warnings} == {300}  # first seen
    assert kinds(state) >= {"negative_pressure", "disconnected", "pump_beyond_curve"}
    elements = {w.kind: w.element for w in state.engine_warnings if w.element is not None}
    assert elements["pump_beyond_curve"] == "PU1"
    assert "J3" in {w.element for w in state.engine_warnings if w.kind == "disconnected"}


def test_an_unbalanced_period_is_not_converged_and_is_read_only_once(tmp_path: Path) -> None:
    path = network(tmp_path, DEMAND_JUMP)
    project = TwinProject(path)
    try:
        project.start(86400, 300)  # utility time one day in
        tk.setoption(project.engine.handle, tk.UNBALANCED, 0)  # no extra trials
        project.solve()
        assert project.last_solve_warned
        found = project.take_warnings()
        assert "unbalanced" in {w.kind for w in found}
        assert {w.time_s for w in found} == {86400}
        assert not converged(found)
        assert project.take_warnings() == []
        tk.setoption(project.engine.handle, tk.UNBALANCED, 10)  # the twin's extra trials
        project.advance_to(86400 + 1800)
        project.solve()
        later = project.take_warnings()  # negative pressures: demand 100 L/s per junction
        assert "negative_pressure" in {w.kind for w in later}
        assert "unbalanced" not in {w.kind for w in later}
        assert min(w.time_s for w in later) > 86400  # the first solve's words are gone
    finally:
        project.close()


def test_a_project_that_does_not_read_warnings_still_knows_it_was_warned(
    tmp_path: Path,
) -> None:
    project = TwinProject(network(tmp_path, TROUBLED), read_warnings=False)
    try:
        project.start(0, 300)
        project.solve()
        assert project.last_solve_warned and project.take_warnings() == []
    finally:
        project.close()


@pytest.mark.parametrize(
    ("found_kinds", "expected"),
    [((), True), (("negative_pressure", "disconnected", "pump_beyond_curve"), True),
     (("unbalanced",), False), (("negative_pressure", "unstable"), False)],
)
def test_which_warnings_leave_the_hydraulics_converged(
    found_kinds: tuple[str, ...], expected: bool
) -> None:
    found = [SimulationWarning(k, None, 0, f"WARNING: {k}") for k in found_kinds]
    assert converged(found) is expected
