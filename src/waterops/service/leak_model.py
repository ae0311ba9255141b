"""Model-based pressure residuals for leak detection with smart-meter demands
(``waterops detect leaks --method model``).

A utility that meters every customer (AMI) knows its demands; its hydraulic model, fed those
demands, predicts what each pressure logger should read. The residual *measured − modelled*
[m] then carries the leaks (and the model's own errors, learned on leak-free days by the
detector's reference) but no longer the demands' randomness, which is what blurs the
data-driven residuals of :mod:`waterops.detection.leaks`.

How the model is run (:func:`model_pressures`): the detector's network file is stepped with
:class:`~waterops.hydraulics.stepper.NetworkStepper` at the readings' step; every metered
junction gets a flat pattern and, as its demand, the smart-meter read covering the step
(``demands.csv``: each read the mean over the interval that *ends* at its time stamp, as a
meter reports). Tanks are put to their measured level before every step; sources and
pumps follow the file's own patterns and controls (which then see the measured levels).

Causality: the demand of the step from *t* is known when the read covering it arrives, one
read interval later, so the residual of time *t* is stamped ``t + interval`` (15 minutes
with 15-minute reads): :func:`model_residuals` only ever uses readings stamped up to the time
it stamps a residual with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from waterops.errors import TelemetryError
from waterops.hydraulics.epanet import EpanetEngine
from waterops.hydraulics.stepper import NetworkStepper

MODELLED_PREFIX = "model:"
"""Prefix of the modelled logger pressures among the reference's features."""
MIN_METERED_SHARE = 0.5
"""Least share of the network's consumer junctions that must be metered for the model
method (below it the demands are mostly unknown and the residual method fits better)."""


def read_interval(demands_m3s: pd.DataFrame) -> pd.Timedelta:
    """Smart-meter read interval: the usual spacing of the demand readings.

    Raises
    ------
    TelemetryError
        when there are fewer than two reads.
    """
    if len(demands_m3s.index) < 2:
        raise TelemetryError("demands.csv: the model method needs at least two demand reads")
    return pd.Timedelta(pd.Series(demands_m3s.index).diff().dropna().median())


def model_pressures(network: Path, pressures_m: pd.DataFrame, demands_m3s: pd.DataFrame,
                    levels_m: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pressure [m] the model predicts at each logger at each time of ``pressures_m``, with
    the metered junctions' demands taken from the reads covering each step and the tanks of
    ``levels_m`` [m] put to their level measured one step earlier before each step (EPANET
    then moves them by the model's flows over the step).

    Times with no read covering them yet (past the last read) are left out; before the first
    read, the first read stands in (these are training times).

    Raises
    ------
    SimulationError
        when the network cannot be simulated.
    TelemetryError
        when the pressure readings are not evenly spaced.
    """
    times = pressures_m.index
    steps = pd.Series(times).diff().dropna()
    if len(steps) == 0 or steps.nunique() != 1:
        raise TelemetryError("pressures.csv: the model method needs evenly spaced readings")
    step_s = int(steps.iloc[0].total_seconds())
    # the read covering [t, t + step) is the first one stamped after t
    read_times = demands_m3s.index
    covering = np.searchsorted(read_times.to_numpy(), times.to_numpy(), side="right")
    known = covering < len(read_times)
    covering = covering[known]
    reads = demands_m3s.ffill().bfill().fillna(0.0).to_numpy(dtype=float)
    out = np.empty((int(known.sum()), pressures_m.shape[1]))
    tanks = [] if levels_m is None else [str(c) for c in levels_m.columns]
    # the level measured one step before each time (none before the first)
    levels = (np.empty((len(times), 0)) if levels_m is None
              else levels_m.reindex(times).ffill().shift(1).to_numpy(dtype=float))
    with EpanetEngine.open(network) as engine, NetworkStepper(
        engine, step_s=step_s, quality=None, horizon_s=len(times) * step_s
    ) as stepper:
        metered = stepper.node_indices([str(c) for c in demands_m3s.columns])
        stepper.clear_demand_patterns(metered)
        loggers = stepper.node_indices([str(c) for c in pressures_m.columns])
        for k, read in enumerate(covering.tolist()):
            stepper.set_base_demands(metered, reads[read])
            for tank, level in zip(tanks, levels[k].tolist(), strict=True):
                if not np.isnan(level):
                    stepper.set_tank_level(tank, level)
            stepper.advance_to(k * step_s)
            out[k] = stepper.node_values("pressure")[loggers]
    return pd.DataFrame(out, index=times[known], columns=pressures_m.columns)


def model_residuals(network: Path, pressures_m: pd.DataFrame, demands_m3s: pd.DataFrame,
                    levels_m: pd.DataFrame | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Residual *measured − modelled* pressure [m] per logger, and the modelled pressure [m],
    each stamped with the time it becomes known (the time of the read covering its step, i.e.
    one read interval later).

    Raises
    ------
    SimulationError, TelemetryError
        as :func:`model_pressures`.
    """
    modelled = model_pressures(network, pressures_m, demands_m3s, levels_m)
    residual = pressures_m.loc[modelled.index] - modelled
    lag = read_interval(demands_m3s)
    residual.index = residual.index + lag
    modelled.index = modelled.index + lag
    # nothing stamped after the last reading (with reads longer than a step, some would be)
    keep = residual.index <= pressures_m.index[-1]
    return residual[keep], modelled[keep]


def time_of_day_features(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Two harmonics of the time of day (sin, cos) [-]: the daily shape of the model's error
    that the boundary flows do not explain."""
    seconds = (index - index.normalize()).total_seconds().to_numpy(dtype=float)
    angle = 2 * np.pi * seconds / 86_400.0
    return pd.DataFrame({"tod:sin1": np.sin(angle), "tod:cos1": np.cos(angle),
                         "tod:sin2": np.sin(2 * angle), "tod:cos2": np.cos(2 * angle)},
                        index=index)
