"""``/network``: the network for the operations centre: summary, map, one element."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Response

from waterops.api.operations import LiveDep, NetworkDep, OpsReader
from waterops.api.schemas.network import ElementPublic, NetworkMapPublic, NetworkSummaryPublic
from waterops.service.network_view import element_details, network_summary

router = APIRouter(prefix="/network", tags=["network"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 409: {}}


@router.get("", responses=_ERRORS)
def summary(_user: OpsReader, ctx: NetworkDep) -> NetworkSummaryPublic:
    """Counts, km of pipe, sources, tanks and pumps of the network (staff)."""
    return NetworkSummaryPublic.model_validate(
        asdict(network_summary(ctx.network, ctx.layout, ctx.name)))


@router.get("/map", responses=_ERRORS, response_model=NetworkMapPublic)
def network_map(_user: OpsReader, ctx: NetworkDep) -> Response:
    """The whole network as compact arrays for drawing (coordinates in ``crs``), with
    sensors, pump rooms, sources and the plant as markers (staff). Encoded once, then served
    from memory."""
    if ctx.map_json is None:
        ctx.map_json = NetworkMapPublic.model_validate(asdict(ctx.map)).model_dump_json(
        ).encode()
    return Response(ctx.map_json, media_type="application/json")


@router.get("/elements/{element_id}", responses={**_ERRORS, 404: {}})
def element(
    element_id: Annotated[str, Path(max_length=64, description="node or link id")],
    _user: OpsReader, ctx: NetworkDep, live: LiveDep,
) -> ElementPublic:
    """One node or link: properties, sensors, DMA, and the twin's latest values (staff)."""
    twin = live.twin_state if live is not None else None
    return ElementPublic.model_validate(element_details(ctx.network, element_id, ctx.layout,
                                                        twin))
