"""``waterops workorders``: field work orders from the server's command line.

- ``workorders list [--state S] [--open] [--limit N]``: newest first, with the SLA clock
- ``workorders show ID``: one order with its materials, links and history
- ``workorders create --kind K --title T [--priority P] [--node N] [--dn MM]
  [--alarm ID | --incident ID]``
- ``workorders assign ID --to CREW_USER [--crew NAME]``
- ``workorders status ID depart|arrive [--note TEXT]`` (a crew's own orders only)
- ``workorders close ID --cause CODE [--material "NAME:QTY:UNIT" ...]``

The ``trunk-main`` group (:mod:`waterops.cli.trunk_main`) is registered here too.

Actions are taken as the staff account named by ``--by`` (its role is checked and the action
audited, as over the API).
"""

from __future__ import annotations

import typer

from waterops.cli import trunk_main
from waterops.errors import AccountError, WorkOrderError
from waterops.model.accounts import User
from waterops.model.work_orders import (
    OPEN_STATES,
    Material,
    Priority,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderState,
)
from waterops.service.work_orders import WorkOrderDraft, WorkOrderService
from waterops.store.accounts_store import AccountsStore
from waterops.store.work_orders_store import WorkOrder, WorkOrderFilter

_DATABASE = typer.Option(
    None, "--database", help="database URL (default: WATEROPS_DATABASE_URL or the data dir)")
_BY = typer.Option(..., "--by", help="the staff account acting (user name)")


def _user(accounts: AccountsStore, username: str) -> User:
    found = accounts.credentials(username)
    if found is None:
        raise AccountError(f"no user {username!r}")
    return found[0]


def _material(text: str) -> Material:
    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        raise WorkOrderError(f"material {text!r}: write NAME:QUANTITY:UNIT (clamp:1:pcs)")
    try:
        quantity = float(parts[1])
    except ValueError:
        raise WorkOrderError(f"material {text!r}: quantity {parts[1]!r} is not a number"
                             ) from None
    return Material(parts[0], quantity, parts[2])


def _line(svc: WorkOrderService, o: WorkOrder) -> str:
    sla = svc.sla(o)
    flag = "BREACHED" if sla.breached else "ok"
    return (f"{o.id}\t{o.created_at:%Y-%m-%d %H:%M}\t{o.kind.value}\t{o.priority.value}\t"
            f"{o.state.value}\t{o.crew or '-'}\tSLA {flag} (on site due "
            f"{o.on_site_due:%H:%M} UTC)\t{o.title}")


def register(app: typer.Typer) -> None:
    """Add the ``workorders`` command group to ``app``."""
    wo = typer.Typer(help="Field work orders (工单): list, show, create, assign, status, close.",
                     no_args_is_help=True)

    def service(database: str | None) -> tuple[AccountsStore, WorkOrderService]:
        accounts = AccountsStore.open(database)
        return accounts, WorkOrderService(accounts.engine)

    @wo.command("list")
    def list_orders(
        by: str = _BY,
        state: WorkOrderState | None = typer.Option(None, "--state", help="only this state"),
        open_only: bool = typer.Option(False, "--open", help="only orders still worked"),
        limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="newest N"),
        database: str | None = _DATABASE,
    ) -> None:
        """Orders newest first: id, created (UTC), kind, priority, state, crew, SLA, title."""
        accounts, svc = service(database)
        try:
            where = WorkOrderFilter(state=state,
                                    states=frozenset(OPEN_STATES) if open_only else None)
            items, total = svc.visible(_user(accounts, by), where, limit=limit)
            for o in items:
                typer.echo(_line(svc, o))
            typer.echo(f"{len(items)} of {total} work order{'s' if total != 1 else ''}")
        finally:
            accounts.close()

    @wo.command("show")
    def show(order_id: int = typer.Argument(..., min=1), by: str = _BY,
             database: str | None = _DATABASE) -> None:
        """One order: its line, materials, links and history."""
        accounts, svc = service(database)
        try:
            user = _user(accounts, by)
            o = svc.get(user, order_id)
            typer.echo(_line(svc, o))
            typer.echo(f"SLA basis: {o.sla_basis}")
            for m in o.materials:
                typer.echo(f"material\t{m.quantity:g} {m.unit}\t{m.name}")
            for kind, target in o.links:
                typer.echo(f"linked\t{kind.value} {target}")
            for e in svc.history(user, order_id):
                typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S}\t{e.action}\t{e.actor}\t{e.note}")
        finally:
            accounts.close()

    @wo.command("create")
    def create(
        kind: WorkOrderKind = typer.Option(..., "--kind"),
        title: str = typer.Option("", "--title", help="what to do (default from the alarm)"),
        priority: Priority = typer.Option(Priority.URGENT, "--priority"),
        node: str | None = typer.Option(None, "--node", help="network node of the job"),
        dn: float | None = typer.Option(None, "--dn", help="pipe nominal diameter [mm]"),
        alarm: int | None = typer.Option(None, "--alarm", min=1, help="create for this alarm"),
        incident: int | None = typer.Option(None, "--incident", min=1,
                                            help="create for this alarm incident"),
        by: str = _BY, database: str | None = _DATABASE,
    ) -> None:
        """A new order (by hand, or for an alarm or incident with --alarm / --incident)."""
        accounts, svc = service(database)
        try:
            user = _user(accounts, by)
            if alarm is not None:
                o = svc.create_from_alarm(user, alarm, title=title or None, diameter_mm=dn)
            elif incident is not None:
                o = svc.create_from_incident(user, incident, title=title or None,
                                             diameter_mm=dn)
            else:
                o = svc.create(user, WorkOrderDraft(kind, title, priority, node_id=node,
                                                    diameter_mm=dn))
            typer.echo(_line(svc, o))
        finally:
            accounts.close()

    @wo.command("assign")
    def assign(order_id: int = typer.Argument(..., min=1),
               to: str = typer.Option(..., "--to", help="the field crew account"),
               crew: str = typer.Option("", "--crew", help="crew name"),
               by: str = _BY, database: str | None = _DATABASE) -> None:
        """Assign (or re-assign) an order to a field crew."""
        accounts, svc = service(database)
        try:
            o = svc.assign(_user(accounts, by), order_id, _user(accounts, to).id, crew)
            typer.echo(_line(svc, o))
        finally:
            accounts.close()

    @wo.command("status")
    def status(order_id: int = typer.Argument(..., min=1),
               action: WorkOrderAction = typer.Argument(..., help="depart or arrive"),
               note: str = typer.Option("", "--note"),
               by: str = _BY, database: str | None = _DATABASE) -> None:
        """A status update from the field (depart, arrive)."""
        accounts, svc = service(database)
        try:
            o = svc.update_status(_user(accounts, by), order_id, action, note)
            typer.echo(_line(svc, o))
        finally:
            accounts.close()

    @wo.command("close")
    def close(order_id: int = typer.Argument(..., min=1),
              cause: str | None = typer.Option(None, "--cause", help="cause code (pipe_burst …)"),
              material: list[str] = typer.Option([], "--material",
                                                 help="NAME:QUANTITY:UNIT, repeatable"),
              note: str = typer.Option("", "--note"),
              by: str = _BY, database: str | None = _DATABASE) -> None:
        """Close an order on site or repaired, with its cause and materials."""
        materials = [_material(m) for m in material]
        accounts, svc = service(database)
        try:
            o = svc.close(_user(accounts, by), order_id, cause=cause, materials=materials,
                          note=note)
            typer.echo(_line(svc, o))
        finally:
            accounts.close()

    app.add_typer(wo, name="workorders")
    trunk_main.register(app)  # the trunk main's record, a neighbour of the field's work
