"""``territorial route``, ``territorial rules check`` and ``territorial serve``."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for
from territorial.errors import ValidationError

rules_app = typer.Typer(help="Territory rules files: check them.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@app.command("route")
def route_command(
    file: Annotated[Path, typer.Argument(help="Leads or accounts: .csv, .json, .jsonl, .xlsx")],
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            "-r",
            help="Rules YAML; route offline with it (nothing saved). "
            "Default: the store's active rules, decisions recorded.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write owners and reasons to this file.")
    ] = None,
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="lead, account, opportunity or contact.")
    ] = "lead",
    accounts: Annotated[
        Path | None,
        typer.Option("--accounts", help="With --rules: accounts file to match leads against."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Route a file of records to territories and owners, with the reason for each."""
    from territorial.routing.files import read_table, route_file, write_table
    from territorial.routing.rules import load_rules

    rule_set = load_rules(str(rules)) if rules is not None else None
    engine = None
    if rule_set is None:
        from territorial.store import open_store

        engine = open_store(settings_for(database).resolved_database_url)
    account_frame = read_table(accounts) if accounts is not None else None
    with err_console.status("routing..."):
        result = route_file(file, kind=kind, rules=rule_set, engine=engine, accounts=account_frame)
    if out is not None:
        write_table(result, out)
        err_console.print(f"wrote {len(result):,} decisions to {out}")
    routed = int(result["territory_id"].notna().sum())
    table = Table(title=f"{routed:,} of {len(result):,} records routed")
    for col in ("record_id", "territory_id", "owner_id", "reason"):
        table.add_column(col, overflow="fold")
    for row in result.head(20 if out is not None else 200).itertuples():
        table.add_row(
            *(
                escape(str(getattr(row, c) or "-"))
                for c in ("record_id", "territory_id", "owner_id", "reason")
            )
        )
    console.print(table)


@rules_app.command("check")
def rules_check(
    file: Annotated[Path, typer.Argument(help="Rules YAML file.")],
    accounts: Annotated[
        Path | None,
        typer.Option("--accounts", help="Accounts file to measure overlaps and gaps on."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Check a rules file: syntax errors with line numbers, then overlaps and gaps.

    Overlaps and gaps are measured on --accounts FILE, or on the store's accounts.
    Exit code 3 when the file has problems.
    """
    from territorial.routing.coverage import coverage_report
    from territorial.routing.engine import compile_rules
    from territorial.routing.files import read_table
    from territorial.routing.rules import load_rules

    try:
        rule_set = load_rules(str(file))
    except ValidationError as exc:
        for p in sorted(exc.problems, key=lambda p: p.row or 0):
            where = f"{file}:{p.row}" if p.row is not None else str(file)
            path = f" {p.column}:" if p.column else ""
            err_console.print(
                f"[red]{escape(where)}:[/]{escape(path)} {escape(p.reason)}",
                highlight=False,
                soft_wrap=True,
            )
        err_console.print(f"[bold red]{len(exc.problems)} problem(s)[/] in {escape(str(file))}")
        # SystemExit: main() runs click without standalone mode, which drops typer.Exit codes.
        raise SystemExit(exc.exit_code) from None
    table = Table(title=f"{rule_set.name}: {len(rule_set.territories)} territories")
    for col in ("territory", "id", "priority", "owner", "line"):
        table.add_column(col)
    for t in rule_set.territories:
        owner = t.owner or (
            f"pool ({t.pool.strategy}: {', '.join(m.rep for m in t.pool.members)})"
            if t.pool
            else "-"
        )
        table.add_row(
            escape(t.label), escape(t.id), str(t.priority), escape(owner), str(t.line or "")
        )
    console.print(table)
    if accounts is not None:
        frame = read_table(accounts)
    else:
        from territorial.routing.service import read_accounts_frame
        from territorial.store import open_store

        frame = read_accounts_frame(open_store(settings_for(database).resolved_database_url))
    if len(frame) == 0:
        console.print("no accounts to measure overlaps and gaps on (give --accounts FILE)")
        return
    report = coverage_report(compile_rules(rule_set), frame)
    console.print(
        f"{report.claimed:,} of {report.accounts:,} accounts claimed; "
        f"{len(report.unclaimed):,} unclaimed (gaps); {len(report.excluded):,} excluded"
    )
    if report.unclaimed:
        console.print("unclaimed, e.g.: " + escape(", ".join(report.unclaimed[:10])))
    if report.empty_territories:
        console.print("territories with no account: " + escape(", ".join(report.empty_territories)))
    if len(report.overlaps):
        ov = Table(title="overlaps (accounts matched by both; the winner takes them)")
        for col in ("winner", "other", "accounts"):
            ov.add_column(col)
        for row in report.overlaps.head(30).itertuples():
            ov.add_row(escape(str(row.winner)), escape(str(row.other)), f"{row.accounts:,}")
        console.print(ov)
    else:
        console.print("no overlaps")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    deliver_alerts: Annotated[
        bool,
        typer.Option(
            "--deliver-alerts/--no-deliver-alerts",
            help=(
                "Deliver alerts from the outbox in the background: webhooks, and e-mail "
                "when TERRITORIAL_SMTP_HOST is set."
            ),
        ),
    ] = True,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help=(
                "Start a 'territorial worker' process (at lower CPU priority, nice 10) next "
                "to the server for design runs and scheduled work, so they never run in "
                "the serving process. Turn off when workers run elsewhere."
            ),
        ),
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help=(
                "Proxies trusted to set X-Forwarded-For/-Proto (comma-separated addresses "
                "or networks, or *). Default: the setting forwarded_allow_ips (127.0.0.1)."
            ),
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Serve the REST API (/api, OpenAPI at /docs) and the web workspace with uvicorn."""
    import os
    import subprocess
    import sys

    import uvicorn

    from territorial.api.app import create_app
    from territorial.routing.alerts import senders_from_settings

    settings = settings_for(database)
    trusted = (
        forwarded_allow_ips if forwarded_allow_ips is not None else settings.forwarded_allow_ips
    )
    senders = senders_from_settings(settings) if deliver_alerts else None
    application = create_app(settings, alert_senders=senders)
    worker_process = None
    if worker:
        worker_process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from territorial.cli import main; main()",
                "worker",
                "--database",
                settings.resolved_database_url,
            ],
            # Lower CPU priority: a design run must not take the cores routing needs.
            preexec_fn=(lambda: os.nice(10)) if hasattr(os, "nice") else None,
        )
        err_console.print(f"worker process {worker_process.pid} started (--no-worker: none)")
    err_console.print(f"serving on http://{host}:{port} (API docs at /docs)")
    try:
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            proxy_headers=True,
            forwarded_allow_ips=trusted,
        )
    finally:
        if worker_process is not None:
            worker_process.terminate()
            try:
                worker_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker_process.kill()
