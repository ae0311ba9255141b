"""Entry point of the ``waterops`` command.

Each command group lives in its own module with a ``register(app)`` function; errors that
waterops raises on purpose (:class:`waterops.errors.WaterOpsError`) become one line on
stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from waterops import __version__
from waterops.errors import WaterOpsError

EXIT_USER_ERROR = 2
"""Exit code for bad input (file, option, data)."""

COMMAND_MODULES = (
    "waterops.cli.demo",
    "waterops.cli.network",
    "waterops.cli.simulate",
    "waterops.cli.scenarios",
    "waterops.cli.ingest",
    "waterops.cli.telemetry",
    "waterops.cli.sensors",
    "waterops.cli.detect",
    "waterops.cli.evaluate",
    "waterops.cli.datasets",
    "waterops.cli.alarms",
    "waterops.cli.serve",
    "waterops.cli.users",
    "waterops.cli.enterprises",
    "waterops.cli.complaints",
    "waterops.cli.isolation",
    "waterops.cli.balance",
    "waterops.cli.treatment",
    "waterops.cli.work_orders",
    "waterops.cli.contamination",
    "waterops.cli.renewal",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"waterops {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The typer application with every command group registered."""
    app = typer.Typer(
        name="waterops",
        help="Operations platform of a drinking-water utility (智慧水务).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version_callback, is_eager=True,
            help="Print the version and exit.",
        ),
    ) -> None:
        """waterops: network model, simulation, telemetry, water safety, customer service."""

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by the tests)."""
    app = build_app()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="waterops", standalone_mode=True)
    except WaterOpsError as exc:
        typer.echo(f"waterops: error: {exc}", err=True)
        return EXIT_USER_ERROR
    except SystemExit as exc:  # click ends every run, good or bad, with SystemExit
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def entry() -> None:
    """Console-script entry point."""
    raise SystemExit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
