"""The engine protocol: what waterops needs from a hydraulic engine.

The EPANET toolkit adapter (:mod:`waterops.hydraulics.epanet`) is the engine in use; another
one (a GPU solver, a remote service) can be plugged in by implementing :class:`Engine`.
Scenarios (:class:`ScenarioLike`) change an opened engine's project and give back an undo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from waterops.errors import SimulationError
from waterops.hydraulics.quality import QualitySpec
from waterops.hydraulics.results import SimulationResults

if TYPE_CHECKING:
    from waterops.model.network import Network


@dataclass(frozen=True)
class PressureDriven:
    """Pressure-driven demand (EPANET's PDA): a node gets its full demand at or above
    ``required_pressure_m``, nothing at or below ``minimum_pressure_m``, and
    ``(p - pmin) / (preq - pmin)) ** exponent`` of it between.

    Parameters
    ----------
    minimum_pressure_m : pressure below which no water is delivered [m]
    required_pressure_m : pressure for full delivery [m]
    exponent : pressure exponent [-]
    """

    minimum_pressure_m: float = 0.0
    required_pressure_m: float = 20.0
    exponent: float = 0.5

    def __post_init__(self) -> None:
        if not self.required_pressure_m > self.minimum_pressure_m:
            raise SimulationError(
                None,
                f"PDA required pressure {self.required_pressure_m} m must exceed the minimum "
                f"pressure {self.minimum_pressure_m} m",
            )
        if self.exponent <= 0:
            raise SimulationError(None, f"PDA pressure exponent must be > 0: {self.exponent}")


DemandModel = str | PressureDriven | None
"""``None`` (as the file says), ``"DDA"``, ``"PDA"`` (file's PDA parameters when it has them,
else :class:`PressureDriven` defaults) or a :class:`PressureDriven`."""


ProgressCallback = Callable[[int, int], None]
"""Called as the run advances with (time reached [s], duration [s])."""


@runtime_checkable
class Engine(Protocol):
    """An opened network project that can be simulated many times.

    Element indices follow the engine's own numbering, 1-based: ``node_ids[i]`` has index
    ``i + 1``.
    """

    @property
    def path(self) -> str:
        """The network file the project was read from."""
        ...

    @property
    def handle(self) -> Any:
        """The engine's own project handle, for code that changes the project directly."""
        ...

    @property
    def node_ids(self) -> list[str]:
        """Node ids in engine index order."""
        ...

    @property
    def link_ids(self) -> list[str]:
        """Link ids in engine index order."""
        ...

    @property
    def flow_units(self) -> str:
        """EPANET flow-unit keyword of the source file (``"GPM"``, ``"LPS"`` …)."""
        ...

    def node_index(self, node_id: str) -> int:
        """1-based engine index of a node; unknown id -> UnknownElementError."""
        ...

    def link_index(self, link_id: str) -> int:
        """1-based engine index of a link; unknown id -> UnknownElementError."""
        ...

    def run(
        self,
        *,
        duration_s: int | None = None,
        hydraulic_step_s: int | None = None,
        quality: QualitySpec | None = None,
        demand_model: DemandModel = None,
        report_step_s: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> SimulationResults:
        """Simulate from t = 0 on the project as it is now; options changed for the run are
        restored afterwards, so ``run`` can be called again."""
        ...

    def close(self) -> None:
        """Free the project."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class ScenarioLike(Protocol):
    """A change to a base network, applied to an opened engine and undone afterwards."""

    @property
    def base(self) -> Network | str | PathLike[str]:
        """The network the scenario starts from: a model or a network file."""
        ...

    def apply_to(self, engine: Engine) -> Callable[[], None]:
        """Change the engine's project; return a function that undoes the change."""
        ...
