"""``waterops tariff``, ``waterops metrics``, ``waterops enterprises``: tariff bills, the service
metrics export and an enterprise's savings advice from the server's command line.

- ``tariff bill --volume 25 --period month [--tariff NAME] [--class household]``: a bill,
  line by line (the tariff book of ``--tariff-file`` or ``$WATEROPS_TARIFF_FILE``, else the
  demo book).
- ``metrics export --out FILE.csv [--start ISO] [--end ISO]``: the service metrics as CSV
  (written to a temporary file beside ``FILE`` and renamed: never half a file).
- ``enterprises advice ACCOUNT [--days 7] [--end ISO]``: consumption and savings advice of the
  enterprise with customer account ``ACCOUNT`` (e.g. ``E00001``).

- ``enterprises import-demo [--manager NAME]``: register the demo utility's industrial-park
  enterprises with their AMR meters (those not registered yet).

Whoever can run these commands can read the database itself: they act as the administrator
``cli:<login>``, which is the name the audit trail gives their changes.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from waterops.errors import ConfigError, RecordNotFoundError, TariffError
from waterops.model.accounts import Role, User
from waterops.model.tariffs import BillingPeriod, CustomerClass, TariffBook
from waterops.model.workdays import HolidayCalendar
from waterops.service.enterprise_service import (
    DEMO_PARK_ID,
    EnterpriseService,
    configured_tariff_book,
    enterprise_drafts,
    load_tariff_book,
)
from waterops.service.service_metrics import ServiceMetricsService
from waterops.service.virtual_utility import build_demo_utility
from waterops.store import TelemetryStore
from waterops.store.accounts_store import AccountsStore
from waterops.store.complaints_store import ComplaintsStore
from waterops.store.connections_store import ConnectionsStore
from waterops.store.enterprises_store import EnterprisesStore

_DATABASE_HELP = "database URL (default: WATEROPS_DATABASE_URL or the data dir)"


def operator() -> User:
    """The identity of the command line: a read-only administrator named after the login."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return User(0, f"cli:{login}", Role.ADMINISTRATOR, "command line", None, True,
                datetime.now(UTC))


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not an ISO date-time") from None
    if when.tzinfo is None:
        raise ConfigError(f"{option} {text!r} needs a UTC offset (e.g. +08:00)")
    return when


def _book(tariff_file: Path | None) -> TariffBook:
    return load_tariff_book(tariff_file) if tariff_file else configured_tariff_book()


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add the ``tariff``, ``metrics`` and ``enterprises`` command groups to ``app``."""
    tariff = typer.Typer(help="Water tariffs (水价) and bills.", no_args_is_help=True)
    metrics = typer.Typer(help="Service metrics of the customer service.",
                          no_args_is_help=True)
    enterprises = typer.Typer(help="Enterprise one-to-one service.", no_args_is_help=True)

    @tariff.command("bill")
    def bill(
        volume_m3: float = typer.Option(..., "--volume", help="volume of the period [m³]"),
        period: BillingPeriod = typer.Option(BillingPeriod.MONTH, "--period",
                                             help="billing period of the volume"),
        tariff_name: str | None = typer.Option(None, "--tariff", help="tariff by name"),
        customer_class: CustomerClass = typer.Option(CustomerClass.HOUSEHOLD, "--class",
                                                     help="customer class (default tariff)"),
        tariff_file: Path | None = typer.Option(None, "--tariff-file",
                                                help="tariff book (TOML)"),
    ) -> None:
        """The bill of a period's volume, line by line [yuan]."""
        book = _book(tariff_file)
        if tariff_name is None:
            candidates = [t for t in book.tariffs.values()
                          if t.customer_class == customer_class and t.period == period]
            if not candidates:
                raise TariffError(f"no {customer_class.value} tariff billed per {period.value}")
            default = book.default_for(customer_class)
            chosen = default if default in candidates else candidates[0]
        else:
            chosen = book.get(tariff_name)
            if chosen.period != period:
                raise TariffError(f"tariff {tariff_name!r} bills per {chosen.period.value}, "
                                  f"not per {period.value}")
        result = chosen.bill(volume_m3)
        typer.echo(f"tariff {result.tariff} ({result.period.value}), {volume_m3:g} m³")
        for line in result.lines:
            typer.echo(f"  {line.label:32} {line.volume_m3:12.3f} m³ x "
                       f"{line.price_yuan_m3:6.2f} = {line.amount_yuan:12.2f} yuan")
        typer.echo(f"  {'total':32} {'':31} {result.total_yuan:12.2f} yuan")

    @metrics.command("export")
    def export(
        out: Path = typer.Option(..., "--out", help="CSV file to write"),
        start: str | None = typer.Option(None, "--start", help="records from (ISO, offset)"),
        end: str | None = typer.Option(None, "--end", help="records until (ISO, offset)"),
        database: str | None = typer.Option(None, "--database", help=_DATABASE_HELP),
    ) -> None:
        """Export the service metrics as CSV (metric,key,value,unit)."""
        since, until = _when(start, "--start"), _when(end, "--end")
        store = TelemetryStore.open(database)
        try:
            engine = store.engine
            service = ServiceMetricsService(ConnectionsStore(engine), ComplaintsStore(engine),
                                            EnterprisesStore(engine), HolidayCalendar.china())
            result = service.metrics(operator(), start=since, end=until)
        finally:
            store.close()
        write_atomically(out, result.to_csv())
        typer.echo(f"{len(result.rows)} metrics written to {out}")

    @enterprises.command("advice")
    def advice(
        account: str = typer.Argument(..., help="customer account of the enterprise"),
        days: int = typer.Option(7, "--days", min=1, max=366, help="days of meter data"),
        end: str | None = typer.Option(None, "--end", help="window end (ISO; default now)"),
        reuse_share: float = typer.Option(0.10, "--reuse-share", min=0.0, max=0.99,
                                          help="share of water to reuse [0-1)"),
        tariff_file: Path | None = typer.Option(None, "--tariff-file",
                                                help="tariff book (TOML)"),
        database: str | None = typer.Option(None, "--database", help=_DATABASE_HELP),
    ) -> None:
        """Consumption analysis and savings advice of an enterprise [yuan/year]."""
        until = _when(end, "--end") or datetime.now(UTC)
        store = TelemetryStore.open(database)
        try:
            service = EnterpriseService(EnterprisesStore(store.engine), store,
                                        tariffs=_book(tariff_file))
            who = operator()
            enterprise = service.by_account(who, account)
            result = service.advice(who, enterprise.id, until - timedelta(days=days), until,
                                    reuse_share=reuse_share)
        finally:
            store.close()
        a = result.analysis
        typer.echo(f"{enterprise.account_id} {enterprise.name} ({enterprise.industry}), "
                   f"tariff {result.tariff}")
        typer.echo(f"  average {a.average_flow_m3s * 1e3:.2f} L/s = "
                   f"{a.mean_daily_volume_m3:.1f} m³/day; {result.annual_volume_m3:.0f} m³/year "
                   f"costing {result.annual_cost_yuan:.2f} yuan")
        typer.echo(f"  {a.leak_reasoning}")
        if a.peers.percentile is not None:
            typer.echo(f"  per {a.peers.basis}: {a.peers.value_m3_per_unit:.3f} m³, more than "
                       f"{a.peers.percentile:.0f} % of {a.peers.peers} peers")
        for item in result.items:
            typer.echo(f"  {item.kind:9} {item.yuan_per_year:12.2f} yuan/year  "
                       f"{item.volume_m3_per_year:10.0f} m³/year  {item.reasoning}")
        typer.echo(f"  total     {result.total_yuan_per_year:12.2f} yuan/year")

    @enterprises.command("import-demo")
    def import_demo(
        manager: str | None = typer.Option(None, "--manager",
                                           help="user name of their account manager"),
        database: str | None = typer.Option(None, "--database", help=_DATABASE_HELP),
    ) -> None:
        """Register the demo utility's enterprises with their meters."""
        layout = build_demo_utility()
        store = TelemetryStore.open(database)
        try:
            manager_id = None
            if manager is not None:
                found = AccountsStore(store.engine).credentials(manager)
                if found is None:
                    raise RecordNotFoundError("user", manager)
                manager_id = found[0].id
            service = EnterpriseService(EnterprisesStore(store.engine), store)
            who, added = operator(), 0
            for draft in enterprise_drafts(layout):
                try:
                    service.store.by_account(draft.account_id)
                except RecordNotFoundError:
                    service.register(who, replace(draft, manager_id=manager_id))
                    added += 1
        finally:
            store.close()
        typer.echo(f"{added} enterprises registered in park {DEMO_PARK_ID}")

    app.add_typer(tariff, name="tariff")
    app.add_typer(metrics, name="metrics")
    app.add_typer(enterprises, name="enterprises")
