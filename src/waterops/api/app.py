"""The HTTP API: ``create_app`` builds the FastAPI application (routes under ``/api/v1``).

Routers are registered from :data:`ROUTER_MODULES`: a module with a ``router``
(:class:`fastapi.APIRouter`) joins the API by adding its name there, one line. Every error
waterops raises on purpose, every validation error and every HTTP error becomes a
problem-details body (RFC 9457: ``type``, ``title``, ``status``, ``detail``, ``instance``)
with media type ``application/problem+json``; :data:`_STATUS_OF` maps error families to
statuses (401 unknown token, 403 role, 404 missing or foreign record, 409 refused transition,
413/415 refused upload, 422 invalid input, 429 throttled login, 503 database).

Adding a part of the customer service (complaints, notices, enterprises …)
------------------------------------------------------------------------
1. Permissions: add members to :class:`waterops.model.accounts.Permission` and grant them in
   :data:`waterops.model.accounts.ROLE_PERMISSIONS` (data, not code).
2. Service: a class in ``waterops/service/`` taking its store and a clock; every use case
   starts with :func:`waterops.service.auth.require` (the role check) and, for customers,
   filters to the user's own records (a foreign record is :class:`RecordNotFoundError`, so
   ids do not leak). Staff changes write an audit line in the same transaction
   (:func:`waterops.store.accounts_store.insert_audit`, table ``audit_log``). Notify through
   :class:`waterops.service.connections.Notifier`.
3. Services container: add a field to :class:`waterops.api.deps.Services` and build it in
   :func:`build_services`.
4. Schemas: ``waterops/api/schemas/<part>.py`` with ``XBase / XCreate / XUpdate / XPublic``;
   text fields use :data:`waterops.api.schemas.common.ShortText` / ``LongText`` (no control
   characters), ids :data:`~waterops.api.schemas.common.RecordId`.
5. Router: ``waterops/api/routes/<part>.py`` with ``router = APIRouter(prefix="/<part>")``;
   routes take ``CurrentUser``, ``ServicesDep`` and, for lists, ``PageParams`` and return
   ``Page[XPublic]``; then add the module to :data:`ROUTER_MODULES`. The schema-fuzzing test
   (``tests/api/test_connections_fuzz.py``) then covers the new routes too.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import PurePath
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from waterops import __version__
from waterops.api.deps import Services
from waterops.config import Settings, load_settings
from waterops.errors import (
    AccountError,
    AlarmError,
    AlarmTransitionError,
    AuthenticationError,
    CalendarError,
    ComplaintError,
    ComplaintTransitionError,
    ConnectionApplicationError,
    ConnectionTransitionError,
    DocumentRejectedError,
    EnterpriseError,
    IncidentError,
    LiveSystemError,
    LoginThrottledError,
    NoticeRuleError,
    PayloadError,
    PermissionDeniedError,
    ProblemTransitionError,
    QualityDataError,
    RecordNotFoundError,
    RegisterError,
    RenewalPlanError,
    ScenarioError,
    StoreError,
    TariffError,
    TrunkMainError,
    UnitError,
    WaterOpsError,
    WorkOrderError,
    WorkOrderTransitionError,
)
from waterops.model.workdays import HolidayCalendar
from waterops.service.auth import AuthService, Clock, ThrottlePolicy, utc_now
from waterops.service.connections import ConnectionService, Notifier
from waterops.service.documents import MAX_DOCUMENT_BYTES, DocumentService
from waterops.service.events import EventBus
from waterops.store import migrate
from waterops.store.accounts_store import AccountsStore
from waterops.store.connections_store import ConnectionsStore
from waterops.store.engine import create_store_engine, resolve_url

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

ROUTER_MODULES = (
    "waterops.api.routes.auth",
    "waterops.api.routes.users",
    "waterops.api.routes.connections",
    "waterops.api.routes.documents",
    "waterops.api.routes.complaints",
    "waterops.api.routes.notices",
    "waterops.api.routes.enterprises",
    "waterops.api.routes.tariffs",
    "waterops.api.routes.metrics",
    "waterops.api.routes.renewal",
    "waterops.api.routes.work_orders",
    "waterops.api.routes.trunk_main",
    "waterops.api.routes.water_balance",
    "waterops.api.routes.treatment",
    "waterops.api.routes.isolation",
    "waterops.api.routes.contamination",
    "waterops.api.routes.sources",
    "waterops.api.routes.network",
    "waterops.api.routes.telemetry",
    "waterops.api.routes.alarms",
    "waterops.api.routes.twin",
    "waterops.api.routes.kpis",
    "waterops.api.routes.stream",
)
"""Modules whose ``router`` is mounted under :data:`API_PREFIX` (add yours here)."""

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://waterops.invalid/problems/"
"""Base of the ``type`` URIs of problem details (one per error class)."""

_STATUS_OF: tuple[tuple[type[WaterOpsError], int], ...] = (
    (LoginThrottledError, 429),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (RecordNotFoundError, 404),
    (ConnectionTransitionError, 409),
    (ComplaintTransitionError, 409),
    (ProblemTransitionError, 409),
    (WorkOrderTransitionError, 409),
    (WorkOrderError, 422),
    (TrunkMainError, 422),
    (AlarmTransitionError, 409),
    (LiveSystemError, 409),
    (AlarmError, 422),
    (IncidentError, 422),
    (PayloadError, 422),
    (UnitError, 422),
    (EnterpriseError, 422),
    (TariffError, 422),
    (ComplaintError, 422),
    (NoticeRuleError, 422),
    (AccountError, 422),
    (ConnectionApplicationError, 422),
    (CalendarError, 422),
    (ScenarioError, 422),  # an unknown element or an impossible closure
    (QualityDataError, 422),  # a water-quality reading that cannot be judged
    (RegisterError, 422),  # a pipe register that cannot be read
    (RenewalPlanError, 422),  # a plan that cannot be made (e.g. must-do over budget)
    (StoreError, 503),
)
"""HTTP status of each error family, most specific first (others: 400)."""


def status_of(exc: WaterOpsError) -> int:
    """The HTTP status a waterops error is answered with."""
    if isinstance(exc, DocumentRejectedError):
        return 413 if exc.too_large else 415
    return next((code for kind, code in _STATUS_OF if isinstance(exc, kind)), 400)


def public_detail(exc: WaterOpsError) -> str:
    """The error's message as told to an HTTP client: server file paths the error names
    (its ``path`` or ``where``, e.g. the network file of an unknown element) are cut to the
    file's name, so the answer does not show how the server's disk is laid out."""
    detail = str(exc)
    for attribute in ("path", "where"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str | PurePath) and str(value) and os.path.isabs(value):
            detail = detail.replace(str(value), PurePath(value).name)
    return detail


def problem(
    request: Request,
    status: int,
    detail: str,
    kind: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response (RFC 9457)."""
    body = {
        "type": PROBLEM_TYPE_BASE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def waterops_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WaterOpsError)
        status = status_of(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, LoginThrottledError):
            headers["Retry-After"] = str(max(1, int(exc.retry_after_s + 0.999)))
        elif isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return problem(request, status, public_detail(exc), type(exc).__name__, headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(request, 422, "the request is not valid", "ValidationError", errors=errors)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(
            request, exc.status_code, str(exc.detail), "HTTPError", dict(exc.headers or {})
        )

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # a bug, not a fault of the request: log it whole, tell the client no more than that
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(request, 500, "internal error; it has been logged", "InternalError")

    app.add_exception_handler(Exception, unexpected_error)
    app.add_exception_handler(WaterOpsError, waterops_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def build_services(
    settings: Settings,
    *,
    database_schema: str | None = None,
    clock: Clock = utc_now,
    notifier: Notifier | None = None,
    bus: EventBus | None = None,
    calendar: HolidayCalendar | None = None,
    throttle: ThrottlePolicy | None = None,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
) -> Services:
    """Open (and migrate) the store and build the services the routes use."""
    engine = create_store_engine(resolve_url(settings.database_url), schema=database_schema)
    try:
        migrate.upgrade(engine, database_schema)
    except BaseException:
        engine.dispose()
        raise
    accounts = AccountsStore(engine)
    connections_store = ConnectionsStore(engine)
    return Services(
        auth=AuthService(accounts, clock=clock, throttle=throttle),
        connections=ConnectionService(
            connections_store,
            calendar or HolidayCalendar.china(),
            clock=clock,
            notifier=notifier,
            bus=bus,
        ),
        documents=DocumentService(
            connections_store,
            settings.data_dir / "documents",
            clock=clock,
            max_bytes=max_document_bytes,
        ),
        accounts=accounts,
    )


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    database_schema: str | None = None,
    live: Any = None,
) -> FastAPI:
    """The waterops HTTP API.

    Parameters
    ----------
    settings : settings (default: :func:`waterops.config.load_settings`, read now, not at import)
    services : ready services (tests inject a clock or a notifier this way); default: built
        from ``settings`` with :func:`build_services`
    database_schema : PostgreSQL schema of the store, if any
    live : what the running process has (:class:`waterops.service.live.Live`: layout, twin,
        simulator, event bus), ``None`` under ``waterops serve``; kept as ``app.state.live``
    """
    settings = settings or load_settings()
    if services is None:
        services = build_services(settings, database_schema=database_schema)
    engine = services.accounts.engine

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="waterops",
        version=__version__,
        summary="Customer service and operations API of a drinking-water utility",
        openapi_url="/openapi.json",
        docs_url=None,  # FastAPI's own page loads Swagger UI from a CDN: served offline below
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.settings = settings
    app.state.live = live
    app.state.bus = EventBus()  # readings and alarms of this process when no `live` runs
    _install_error_handlers(app)
    _install_offline_docs(app)
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router, prefix=API_PREFIX)
    return app


SWAGGER_ASSETS = "/docs-assets"
"""Where the Swagger UI files of the installed ``swagger-ui-bundle`` package are served."""


def _install_offline_docs(app: FastAPI) -> None:
    """Interactive API docs at ``/docs`` with Swagger UI from an installed package (no CDN)."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    app.mount(SWAGGER_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="waterops API",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
        )
