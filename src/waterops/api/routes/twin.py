"""``/twin``: the digital twin's latest state, and its values for colouring the map (staff).

409 with a problem body ("no twin is running") under ``waterops serve`` or before the twin's
first update.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query

from waterops.api.operations import NetworkDep, OpsReader, RunningLive
from waterops.api.schemas.twin import (
    DmaEstimatePublic,
    EngineWarningPublic,
    ResidualPublic,
    TwinStatePublic,
    TwinValuesPublic,
)
from waterops.service.network_view import link_values, node_values, source_shares

router = APIRouter(prefix="/twin", tags=["digital twin"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 409: {}}
NODE_UNITS = {"pressure": "m", "head": "m", "demand": "m3/s", "water_age": "s",
              "chlorine": "mg/L"}
LINK_UNITS = {"flow": "m3/s", "velocity": "m/s"}


def _num(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _col(frame: pd.DataFrame, row: object, name: str) -> object:
    return frame.at[row, name] if name in frame.columns else None


@router.get("/state", responses=_ERRORS)
def state(_user: OpsReader, live: RunningLive) -> TwinStatePublic:
    """Time, whether the hydraulics converged (with EPANET's warnings), DMA demand
    multipliers, per-sensor residuals and source shares."""
    twin, at = live.require_twin()
    dmas = [DmaEstimatePublic(dma_id=str(i), multiplier=_num(_col(twin.dma, i, "multiplier")),
                              multiplier_sd=_num(_col(twin.dma, i, "multiplier_sd")),
                              inflow_m3s=_num(_col(twin.dma, i, "inflow_m3s")),
                              estimated=bool(_col(twin.dma, i, "estimated")))
            for i in twin.dma.index]
    res = twin.residuals
    residuals = [ResidualPublic(
        sensor_id=str(i), quantity=str(_col(res, i, "quantity")),
        element_id=None if _col(res, i, "element_id") is None else str(_col(res, i,
                                                                           "element_id")),
        measured=_num(_col(res, i, "measured")), model=_num(_col(res, i, "model")),
        residual=_num(_col(res, i, "residual")), z=_num(_col(res, i, "z")))
        for i in res.index]
    zs = [abs(r.z) for r in residuals if r.z is not None]
    return TwinStatePublic(time=at, time_s=twin.time_s, dmas=dmas, residuals=residuals,
                           largest_abs_z=max(zs) if zs else None,
                           source_shares=source_shares(twin),
                           released_controls=list(twin.released_controls),
                           hydraulics_converged=twin.hydraulics_converged,
                           unconverged_updates=twin.unconverged_updates,
                           engine_warnings=[EngineWarningPublic(kind=w.kind, element=w.element,
                                                                time_s=w.time_s,
                                                                message=w.message)
                                            for w in twin.engine_warnings])


@router.get("/nodes", responses=_ERRORS)
def nodes(
    _user: OpsReader, live: RunningLive, ctx: NetworkDep,
    quantity: Annotated[Literal["pressure", "head", "demand", "water_age", "chlorine"],
                        Query(description="what to colour the nodes by")] = "pressure",
) -> TwinValuesPublic:
    """The twin's value at every node, in ``/network/map`` order (chlorine: 409, the twin
    does not model it)."""
    twin, at = live.require_twin()
    return TwinValuesPublic(time=at, hydraulics_converged=twin.hydraulics_converged,
                            quantity=quantity, unit=NODE_UNITS[quantity],
                            ids=ctx.map.node_ids,
                            values=node_values(twin, ctx.map.node_ids, quantity))


@router.get("/links", responses=_ERRORS)
def links(
    _user: OpsReader, live: RunningLive, ctx: NetworkDep,
    quantity: Annotated[Literal["flow", "velocity"],
                        Query(description="flow [m³/s, + from start to end node] or "
                              "velocity [m/s, magnitude]")] = "flow",
) -> TwinValuesPublic:
    """The twin's value on every link, in ``/network/map`` order."""
    twin, at = live.require_twin()
    return TwinValuesPublic(time=at, hydraulics_converged=twin.hydraulics_converged,
                            quantity=quantity, unit=LINK_UNITS[quantity],
                            ids=ctx.map.link_ids,
                            values=link_values(twin, ctx.network, ctx.map.link_ids, quantity))
