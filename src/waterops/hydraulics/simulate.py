"""``simulate``: one call from a network (file, model or scenario) to its results."""

from __future__ import annotations

import tempfile
from os import PathLike, fspath
from pathlib import Path
from typing import TYPE_CHECKING

from waterops.hydraulics.engine import DemandModel, ProgressCallback, ScenarioLike
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.quality import QualitySpec
from waterops.hydraulics.results import SimulationResults

if TYPE_CHECKING:
    from waterops.model.network import Network

_FILE_NAMES = (str, PathLike)
"""What names a network file (a tuple made once: ``str | PathLike`` builds a union per call)."""


def simulate(
    network: Network | ScenarioLike | str | PathLike[str],
    duration_s: int | None = None,
    hydraulic_step_s: int | None = None,
    quality: QualitySpec | None = None,
    *,
    demand_model: DemandModel = None,
    report_step_s: int | None = None,
    progress: ProgressCallback | None = None,
) -> SimulationResults:
    """Run an extended-period simulation with the EPANET engine.

    Parameters
    ----------
    network : an EPANET ``.inp`` file, a :class:`waterops.model.network.Network`, or a
        scenario (anything with ``.base`` and ``.apply_to(engine)``)
    duration_s : simulated duration [s]; ``None`` = the network's own
    hydraulic_step_s : hydraulic time step [s]; ``None`` = the network's own
    quality : ``None`` (hydraulics only), :class:`~waterops.hydraulics.quality.WaterAge`,
        :class:`~waterops.hydraulics.quality.Chemical` or
        :class:`~waterops.hydraulics.quality.Trace`
    demand_model : ``None`` (as the network says), ``"DDA"``, ``"PDA"`` or a
        :class:`~waterops.hydraulics.epanet.PressureDriven`
    report_step_s : time between two result rows [s]; ``None`` = the network's own
    progress : called with (time reached [s], duration [s]) as the run advances

    Returns
    -------
    SimulationResults
        ``results.node["pressure"]`` etc.: time [s] x element id, SI units.

    Raises
    ------
    NetworkFileError
        missing or invalid network file (with file, line and reason).
    SimulationError
        EPANET cannot solve the system.
    """

    def run(engine: EpanetEngine) -> SimulationResults:
        return engine.run(
            duration_s=duration_s,
            hydraulic_step_s=hydraulic_step_s,
            quality=quality,
            demand_model=demand_model,
            report_step_s=report_step_s,
            progress=progress,
        )

    if isinstance(network, _FILE_NAMES):  # the common case first
        with EpanetEngine.open(fspath(network)) as engine:
            return run(engine)
    if isinstance(network, ScenarioLike):
        with _opened(network.base) as engine:
            undo = network.apply_to(engine)
            try:
                results = run(engine)
            finally:
                undo()
        return _without_temp_source(results, network.base)
    with _opened(network) as engine:
        results = run(engine)
    return _without_temp_source(results, network)


def _without_temp_source(
    results: SimulationResults, base: Network | str | PathLike[str]
) -> SimulationResults:
    """A model is simulated through a temporary file: do not name that file as the source."""
    if not isinstance(base, str | PathLike):
        results.source = None
    return results


class _opened:
    """Open a network file, or a model written to a temporary file first, as an engine."""

    def __init__(self, base: Network | str | PathLike[str]) -> None:
        self._base = base
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._engine: EpanetEngine | None = None

    def __enter__(self) -> EpanetEngine:
        if isinstance(self._base, str | PathLike):
            path = Path(fspath(self._base))
        else:
            from waterops.io.inp import write_inp  # the model's own full-precision writer

            self._tmp = tempfile.TemporaryDirectory(prefix="waterops-sim-")
            path = Path(self._tmp.name) / "network.inp"
            write_inp(self._base, path)
        try:
            self._engine = EpanetEngine.open(path)
        except BaseException:
            self._cleanup()
            raise
        return self._engine

    def __exit__(self, *exc: object) -> None:
        if self._engine is not None:
            self._engine.close()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
