"""The web application: the HTTP API with the operations centre and the customer portal.

:func:`create_app` wraps :func:`waterops.api.app.create_app` (routes under ``/api/v1``) and adds
the pages. Pages are static HTML and JavaScript modules shipped inside the package
(``waterops/web/static``); they read everything through the API with the bearer token of the
logged-in user, so a page shows only what the API lets that user see. Third-party browser code
comes from installed Python packages (plotly.js from ``plotly``), never from a CDN: the
operations centre works on a network with no internet access.

Pages
-----
``/``          log-in page; sends staff to ``/ops`` and customers to ``/portal``
``/ops``       operations centre (staff)
``/portal``    customer portal (households and enterprises)
``/static/…``  the assets; ``/static/vendor/plotly.min.js`` is the installed plotly.js,
               ``/static/vendor/plotly-gl2d.min.js`` its gl2d partial bundle (scatter, scattergl)
               from the locked npm install of a source checkout, which the operations centre
               loads: a third of the full bundle, parsed three times faster on a first visit
               (falls back to the full bundle where it is not installed)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from waterops.api.app import create_app as create_api_app
from waterops.config import Settings

STATIC_DIR = Path(str(resources.files("waterops.web") / "static"))
"""Folder of the pages and their assets."""

PAGES = {"/": "index.html", "/ops": "ops.html", "/portal": "portal.html"}
"""URL path → HTML file in :data:`STATIC_DIR`."""

_NO_STORE = {"Cache-Control": "no-cache"}


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed ``plotly`` package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():  # pragma: no cover - a broken plotly installation
        raise FileNotFoundError(f"plotly.js is missing from the plotly package at {path}")
    return path


def plotly_gl2d_path() -> Path:
    """The gl2d partial bundle of plotly.js (``plotly.js-gl2d-dist-min`` from the repository's
    locked npm install, ``./dev`` runs it), else the full bundle of :func:`plotly_js_path`."""
    root = Path(__file__).resolve().parents[3]
    path = root / "node_modules" / "plotly.js-gl2d-dist-min" / "plotly-gl2d.min.js"
    return path if path.is_file() else plotly_js_path()


def create_app(
    settings: Settings | None = None, *, live: Any = None, **api_options: Any
) -> FastAPI:
    """The API app with the operations centre and the portal mounted.

    Parameters
    ----------
    settings : as for :func:`waterops.api.app.create_app`
    live : what a running process exposes to the pages (the demo's simulator and twin);
        ``None`` under ``waterops serve``. Stored as ``app.state.live``.
    api_options : passed on to :func:`waterops.api.app.create_app` (``services``,
        ``database_schema``)
    """
    app = create_api_app(settings, **api_options)
    app.state.live = live
    add_pages(app)
    return app


def add_pages(app: FastAPI) -> None:
    """Mount the static assets and the page routes on ``app``."""
    plotly_js, plotly_gl2d = plotly_js_path(), plotly_gl2d_path()

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/vendor/plotly-gl2d.min.js", include_in_schema=False)
    def plotly_gl2d_bundle() -> FileResponse:
        return FileResponse(plotly_gl2d, media_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    for url, filename in PAGES.items():
        _add_page(app, url, filename)

    @app.get("/ops/", include_in_schema=False)
    def ops_slash() -> RedirectResponse:
        return RedirectResponse("/ops")

    @app.get("/portal/", include_in_schema=False)
    def portal_slash() -> RedirectResponse:
        return RedirectResponse("/portal")


def _add_page(app: FastAPI, url: str, filename: str) -> None:
    path = STATIC_DIR / filename

    @app.get(url, include_in_schema=False, name=f"page:{filename}")
    def page() -> FileResponse:
        return FileResponse(path, media_type="text/html", headers=_NO_STORE)
