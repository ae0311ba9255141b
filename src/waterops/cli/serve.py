"""``waterops serve``: run the web application (pages, and the API under ``/api/v1``) on
uvicorn, for a real utility's data: no simulator, no twin (routes that need them answer 409).

uvicorn builds the application from its factory by name: ``waterops.web.app:create_app``
(the API with the operations centre and portal pages). The network shown by ``/network`` is
the file named by ``WATEROPS_NETWORK``.
"""

from __future__ import annotations

import typer

from waterops.store.accounts_store import AccountsStore

APP_FACTORY = "waterops.web.app:create_app"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port"),
    ) -> None:
        """Serve the pages and the API (OpenAPI at /openapi.json, docs at /docs)."""
        import uvicorn  # the web server is only needed by this command

        # open (and migrate) the store before listening: a bad database URL is one clear
        # error line here, not a server that answers 503
        AccountsStore.open().close()
        typer.echo(f"waterops on http://{host}:{port}/ (API: /api/v1, OpenAPI: /openapi.json)")
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, log_level="info")
