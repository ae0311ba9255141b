"""The operations centre's map says when the twin's hydraulics did not converge (demo network
served without a simulator; the twin's states are set by the test from real twins)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from waterops.data import demo_network_path
from waterops.model.accounts import Role
from waterops.service.twin import Twin, TwinSettings, TwinState
from web.conftest import WebServer
from web.ops_support import open_ops, serve_network

AT = "2026-12-07T08:00:00+00:00"


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with serve_network(tmp_path_factory.mktemp("ops-twin")) as server:
        yield server


def twin_state(path: Path) -> TwinState:
    """A hydraulics-only twin of ``path``, without sensors, at its first update."""
    with Twin(path, [], settings=TwinSettings(water_age=False, source_shares=False)) as twin:
        return twin.update(0, {})


def test_the_map_says_when_the_twins_hydraulics_did_not_converge(
        page: Any, ops_server: WebServer, tmp_path: Path) -> None:
    # the demo network with one trial: EPANET runs out of trials at the first solve
    one_trial = tmp_path / "one_trial.inp"
    one_trial.write_text(re.sub(r"(?m)^TRIALS\s+\d+", "TRIALS 1", demo_network_path().read_text()))
    unconverged = twin_state(one_trial)
    assert not unconverged.hydraulics_converged
    live = ops_server.app.state.live
    live.set_twin_state(unconverged, datetime.fromisoformat(AT))
    open_ops(page, ops_server, Role.DISPATCHER, view="map")
    page.wait_for_function("document.querySelector('#map').dataset.state === 'drawn'",
                           timeout=30_000)
    badge = page.locator("#map-twin-health")
    assert badge.is_visible()
    assert badge.inner_text() == "Hydraulics did not converge: values may be wrong"
    assert "could not balance" in (badge.get_attribute("title") or "")
    assert page.eval_on_selector("#map", "e => e.dataset.twinConverged") == "false"
    # a converged state: the badge goes at the next colouring
    converged = twin_state(demo_network_path())
    assert converged.hydraulics_converged
    live.set_twin_state(converged, datetime.fromisoformat(AT))
    page.get_by_label("Colour pipes by").select_option("flow")
    page.wait_for_function("document.querySelector('#map').dataset.twinConverged === 'true'",
                           timeout=30_000)
    assert badge.is_hidden()
