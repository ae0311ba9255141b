"""Simulation: engine protocol, EPANET adapter, results, quality specs, scenarios.

>>> from waterops.hydraulics import simulate, WaterAge
>>> results = simulate("Net1.inp", quality=WaterAge())      # doctest: +SKIP
>>> results.node["pressure"]                                 # doctest: +SKIP
"""

from waterops.hydraulics.engine import (
    DemandModel,
    Engine,
    PressureDriven,
    ProgressCallback,
    ScenarioLike,
)
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.quality import Chemical, QualitySpec, Trace, WaterAge, parse_quality
from waterops.hydraulics.results import LowestPressure, SimulationResults, SimulationWarning
from waterops.hydraulics.simulate import simulate

__all__ = [
    "Chemical",
    "DemandModel",
    "Engine",
    "EpanetEngine",
    "LowestPressure",
    "PressureDriven",
    "ProgressCallback",
    "QualitySpec",
    "ScenarioLike",
    "SimulationResults",
    "SimulationWarning",
    "Trace",
    "WaterAge",
    "parse_quality",
    "simulate",
]
