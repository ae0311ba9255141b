"""``/tariffs``: the tariff book and a bill calculator (anyone logged in)."""

from __future__ import annotations

from fastapi import APIRouter

from waterops.api.deps import CurrentUser
from waterops.api.routes.enterprises import CareDep
from waterops.api.schemas.tariffs import BillCreate, BillPublic, TariffPublic

router = APIRouter(prefix="/tariffs", tags=["tariffs"])

_ERRORS: dict[int | str, dict[str, object]] = {401: {}}


@router.get("", responses=_ERRORS)
def list_tariffs(user: CurrentUser, care: CareDep) -> list[TariffPublic]:
    """The tariffs of the utility's tariff book, by name."""
    book = care.enterprises.tariffs
    return [TariffPublic.of(book.tariffs[name]) for name in sorted(book.tariffs)]


@router.post("/bill", responses={**_ERRORS, 422: {}})
def bill(body: BillCreate, user: CurrentUser, care: CareDep) -> BillPublic:
    """The bill of one period's volume, line by line (tiers, surcharges, fees)."""
    book = care.enterprises.tariffs
    tariff = book.get(body.tariff) if body.tariff else book.default_for(body.customer_class)
    return BillPublic.of(tariff.bill(body.volume_m3))
