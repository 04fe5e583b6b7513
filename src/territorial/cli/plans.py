"""``territorial plans``, ``territorial export``, ``territorial worker`` and
``territorial jobs``: the territory model's versions, their lifecycle, CRM write-back
files and the job queue."""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for
from territorial.errors import ConfigError

plans_app = typer.Typer(
    help="Versions of the territory model: list, compare, submit, approve, activate.",
    no_args_is_help=True,
)
app.add_typer(plans_app, name="plans")
export_app = typer.Typer(
    help="Write a version of the territory model back to the CRM.", no_args_is_help=True
)
app.add_typer(export_app, name="export")
jobs_app = typer.Typer(help="Background jobs (design runs ...): list, show, cancel.")
app.add_typer(jobs_app, name="jobs")

UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        envvar="TERRITORIAL_USER",
        help="Act as this workspace user (e-mail); default: the command line.",
        show_default=False,
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table | json")]


def _engine(database: str | None) -> Any:
    from territorial.store import open_store

    return open_store(settings_for(database).resolved_database_url)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} must be a date YYYY-MM-DD; got {value!r}") from None


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json; got {fmt!r}")


@plans_app.command("list")
def plans_list(
    status: Annotated[
        str | None, typer.Option("--status", help="Only versions with this status.")
    ] = None,
    fmt: FormatOption = "table",
    database: DatabaseOption = None,
) -> None:
    """Every version, newest first; flags those past their review date."""
    from territorial.planning.lifecycle import list_versions

    _check_format(fmt)
    rows = list_versions(_engine(database), status=status)
    if fmt == "json":
        keys = (
            "id",
            "name",
            "status",
            "effective_date",
            "parent_id",
            "created_at",
            "created_by",
            "submitted_by",
            "approved_by",
            "review_date",
            "review_due",
            "accounts",
        )
        print(json.dumps([{k: r.get(k) for k in keys} for r in rows], default=_json_default))
        return
    table = Table(title=f"{len(rows)} versions of the territory model")
    for h in ("id", "name", "status", "effective", "parent", "accounts", "by", "review"):
        table.add_column(h, justify="right" if h in ("id", "parent", "accounts") else "left")
    for r in rows:
        review = "" if r["review_date"] is None else r["review_date"].isoformat()
        if r["review_due"]:
            review = f"[bold red]{review} due[/]"
        table.add_row(
            str(r["id"]),
            escape(str(r["name"])),
            r["status"],
            "" if r["effective_date"] is None else r["effective_date"].isoformat(),
            "" if r["parent_id"] is None else str(r["parent_id"]),
            f"{r['accounts']:,}",
            escape(str(r["created_by"] or "")),
            review,
        )
    console.print(table)
    due = [r for r in rows if r["review_due"]]
    if due:
        err_console.print(
            "[yellow]review due:[/] " + ", ".join(f"plan {r['id']}" for r in due) + " "
            "(set the next date with territorial plans review ID --date YYYY-MM-DD)"
        )


@plans_app.command("show")
def plans_show(
    plan_id: Annotated[int, typer.Argument(help="Plan id.")],
    fmt: FormatOption = "table",
    database: DatabaseOption = None,
) -> None:
    """One version: status, dates, who did what, territories and their reps."""
    from territorial.planning.lifecycle import get_version
    from territorial.planning.ownership import territory_reps
    from territorial.store.planning import list_events

    _check_format(fmt)
    engine = _engine(database)
    version = get_version(engine, plan_id=plan_id)
    members = territory_reps(engine, plan_id=plan_id)
    events = list_events(engine, plan_id=plan_id)
    if fmt == "json":
        out = {k: v for k, v in version.items() if k not in ("report", "parameters", "snapshot")}
        out["parameters"] = version.get("parameters")
        out["territories"] = members.to_dict(orient="records")
        out["events"] = events
        print(json.dumps(out, default=_json_default))
        return
    head = Table(show_header=False, title=f"plan {plan_id}: {escape(str(version['name']))}")
    head.add_column("what", style="bold")
    head.add_column("value")
    for key in (
        "status",
        "parent_id",
        "effective_date",
        "review_date",
        "created_by",
        "submitted_by",
        "approved_by",
        "accounts",
        "territories",
        "rule_set_id",
    ):
        value = version.get(key)
        head.add_row(key.replace("_", " "), "" if value is None else escape(str(value)))
    console.print(head)
    terr = Table(title="territories")
    for h in ("territory", "name", "rep", "role"):
        terr.add_column(h)
    for r in members.itertuples(index=False):
        terr.add_row(
            escape(str(r.territory_id)),
            escape(str(r.territory_name)),
            escape(str(r.rep_id or "(vacant)")),
            escape(str(r.role or "")),
        )
    console.print(terr)
    log = Table(title="history")
    for h in ("at", "who", "action", "from", "to", "note"):
        log.add_column(h)
    for e in events:
        log.add_row(
            e["at"].strftime("%Y-%m-%d %H:%M") if e["at"] else "",
            escape(str(e["actor"])),
            e["action"],
            e["from_status"] or "",
            e["to_status"] or "",
            escape(str(e["note"] or "")),
        )
    console.print(log)


@plans_app.command("diff")
def plans_diff(
    a: Annotated[str, typer.Argument(help="From: a plan id, or 'crm' for the CRM owners.")],
    b: Annotated[int, typer.Argument(help="To: a plan id.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write every moved account to this CSV.")
    ] = None,
    fmt: FormatOption = "table",
    database: DatabaseOption = None,
) -> None:
    """What changes from version A to version B, per rep and per territory."""
    from territorial.planning.lifecycle import diff

    _check_format(fmt)
    if a.lower() == "crm":
        a_id = None
    else:
        try:
            a_id = int(a)
        except ValueError:
            raise ConfigError(f"A must be a plan id or 'crm'; got {a!r}") from None
    engine = _engine(database)
    result = diff(engine, a=a_id, b=b)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.moves.to_csv(out, index=False)
        err_console.print(f"wrote {len(result.moves):,} moved accounts to {out}")
    from territorial.repplan.flags import feedback_counts

    # the reps' flags raised under the base version are part of the review
    feedback = feedback_counts(engine, plan_id=a_id, by="territory")
    if fmt == "json":
        print(json.dumps({**result.to_dict(), "feedback": feedback}, default=_json_default))
        return
    table = Table(title=f"{result.moved_accounts:,} accounts change from {a} to {b}, per rep")
    for h in ("rep", "accounts in A", "accounts in B", "gained", "lost", "kept"):
        table.add_column(h, justify="left" if h == "rep" else "right")
    for r in result.reps.itertuples(index=False):
        if r.gained or r.lost:
            table.add_row(
                escape(str(r.rep_id)),
                f"{r.accounts_a:,}",
                f"{r.accounts_b:,}",
                f"+{r.gained:,}",
                f"-{r.lost:,}",
                f"{r.kept:,}",
            )
    console.print(table)
    if feedback:
        from territorial.cli.repplan import _counts_table

        console.print(_counts_table(feedback, "territory"))
    else:
        console.print(f"no reps' flags raised under {a}")


def _actor(engine: Any, user: str | None) -> Any:
    from territorial.planning.lifecycle import actor_for

    return actor_for(engine, user)


@plans_app.command("submit")
def plans_submit(
    plan_id: Annotated[int, typer.Argument(help="Plan id (a draft).")],
    note: Annotated[str | None, typer.Option("--note", help="A word for the approver.")] = None,
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Send a draft for approval."""
    from territorial.planning.lifecycle import submit

    engine = _engine(database)
    submit(engine, plan_id=plan_id, actor=_actor(engine, user), note=note)
    console.print(f"plan {plan_id} submitted for approval")


@plans_app.command("approve")
def plans_approve(
    plan_id: Annotated[int, typer.Argument(help="Plan id (submitted).")],
    effective: Annotated[
        str | None, typer.Option("--effective", help="Effective date YYYY-MM-DD to set now.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Approval note.")] = None,
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Approve a submitted version (by an admin or planner other than its author)."""
    from territorial.planning.lifecycle import approve

    engine = _engine(database)
    approve(
        engine,
        plan_id=plan_id,
        actor=_actor(engine, user),
        note=note,
        effective_date=_date(effective, "--effective"),
    )
    console.print(f"plan {plan_id} approved")


@plans_app.command("reject")
def plans_reject(
    plan_id: Annotated[int, typer.Argument(help="Plan id (submitted).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the plan's history).")],
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Send a submitted version back to draft, with the reason."""
    from territorial.planning.lifecycle import reject

    engine = _engine(database)
    reject(engine, plan_id=plan_id, reason=reason, actor=_actor(engine, user))
    console.print(f"plan {plan_id} sent back to draft")


@plans_app.command("activate")
def plans_activate(
    plan_id: Annotated[int, typer.Argument(help="Plan id (approved).")],
    effective: Annotated[
        str | None,
        typer.Option("--effective", help="YYYY-MM-DD; today (default) or later (scheduled)."),
    ] = None,
    holdover: Annotated[
        str,
        typer.Option(
            "--holdover",
            help="Open opportunities of accounts changing owner: until_close | until_date | none.",
        ),
    ] = "until_close",
    holdover_until: Annotated[
        str | None, typer.Option("--holdover-until", help="With until_date: YYYY-MM-DD.")
    ] = None,
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Make an approved version the territory model: owners, routing rules, holdovers and
    alerts in one step (or schedule it for a later effective date)."""
    from territorial.planning.activation import HoldoverPolicy, activate

    engine = _engine(database)
    policy = HoldoverPolicy(
        mode=holdover,  # type: ignore[arg-type]
        until=_date(holdover_until, "--holdover-until"),
    )
    with err_console.status(f"activating plan {plan_id}..."):
        report = activate(
            engine,
            plan_id=plan_id,
            actor=_actor(engine, user),
            effective_date=_date(effective, "--effective"),
            holdover=policy,
        )
    if report.status == "scheduled":
        console.print(
            f"plan {plan_id} scheduled: it takes effect on {report.effective_date.isoformat()} "
            "(run by territorial worker)"
        )
        return
    console.print(
        f"plan {plan_id} active from {report.effective_date.isoformat()}: "
        f"{report.owners_changed:,} of {report.accounts:,} account owners changed; "
        f"routing rule set {report.rule_set_id}; "
        f"{report.held_opportunities:,} open opportunities held, "
        f"{report.transferred_opportunities:,} transferred; "
        f"{report.reps_notified:,} reps notified ({report.emails_queued:,} e-mails queued)"
        + (f"; plan {report.superseded_plan_id} superseded" if report.superseded_plan_id else "")
        + f" ({report.seconds:.1f} s)"
    )


@plans_app.command("archive")
def plans_archive(
    plan_id: Annotated[int, typer.Argument(help="Plan id (not the active one).")],
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Archive a version (kept and readable)."""
    from territorial.planning.lifecycle import archive

    engine = _engine(database)
    archive(engine, plan_id=plan_id, actor=_actor(engine, user))
    console.print(f"plan {plan_id} archived")


@plans_app.command("copy")
def plans_copy(
    plan_id: Annotated[int, typer.Argument(help="Plan id to copy.")],
    name: Annotated[str | None, typer.Option("--name", help="Name of the new draft.")] = None,
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Copy a version into a new draft (the way to change an approved or active plan)."""
    from territorial.planning.lifecycle import new_draft

    engine = _engine(database)
    new_id = new_draft(engine, plan_id=plan_id, actor=_actor(engine, user), name=name)
    console.print(f"plan {new_id}")


@plans_app.command("review")
def plans_review(
    plan_id: Annotated[int, typer.Argument(help="Plan id.")],
    on: Annotated[str, typer.Option("--date", help="Next review date YYYY-MM-DD.")],
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Set when the territory model should next be reviewed."""
    from territorial.planning.lifecycle import set_review_date

    engine = _engine(database)
    when = _date(on, "--date")
    set_review_date(engine, plan_id=plan_id, review_date=when, actor=_actor(engine, user))
    console.print(f"plan {plan_id}: review on {on}")


@plans_app.command("activate-due")
def plans_activate_due(database: DatabaseOption = None) -> None:
    """Activate scheduled versions whose date has come; hand over expired holdovers
    (what territorial worker does every minute)."""
    from territorial.planning.jobs import run_scheduled_work

    result = run_scheduled_work(_engine(database), {}, lambda *_: None)
    activated = ", ".join(str(p) for p in result["activated"]) or "none"
    console.print(f"activated: {activated}; holdovers released: {result['released_holdovers']:,}")


# --- exports ---------------------------------------------------------------------------------
def _exported(result: Any) -> None:
    for path in result.files:
        rows = result.rows.get(path.name)
        console.print(f"wrote {path}" + ("" if rows is None else f" ({rows:,} rows)"))


@export_app.command("salesforce")
def export_salesforce(
    plan: Annotated[int, typer.Option("--plan", help="Plan id (approved, scheduled or active).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV files.")],
    database: DatabaseOption = None,
) -> None:
    """Data Loader files for Salesforce territories and account owners."""
    from territorial.planning.exports import salesforce_files

    _exported(salesforce_files(_engine(database), plan_id=plan, out_dir=out))


@export_app.command("hubspot")
def export_hubspot(
    plan: Annotated[int, typer.Option("--plan", help="Plan id (approved, scheduled or active).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the import file.")],
    database: DatabaseOption = None,
) -> None:
    """A HubSpot companies import that updates each company's owner."""
    from territorial.planning.exports import hubspot_files

    _exported(hubspot_files(_engine(database), plan_id=plan, out_dir=out))


@export_app.command("csv")
def export_csv(
    plan: Annotated[int, typer.Option("--plan", help="Plan id (approved, scheduled or active).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The CSV file to write.")],
    database: DatabaseOption = None,
) -> None:
    """One row per account: account_id, territory, territory_name, owner, reason."""
    from territorial.planning.exports import plan_csv

    _exported(plan_csv(_engine(database), plan_id=plan, out_file=out))


# --- worker and jobs ---------------------------------------------------------------------------
@app.command("worker")
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Run the queued jobs, then stop.")] = False,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between looks at the queue.")
    ] = 1.0,
    kinds: Annotated[
        str | None, typer.Option("--kinds", help="Only these job kinds (comma-separated).")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Run background jobs (design runs from the workspace and the API, scheduled
    activations). Start several, on several machines, against one PostgreSQL."""
    import signal
    import threading

    from territorial.planning.jobs import run_worker, worker_name

    engine = _engine(database)
    stop = threading.Event()

    def halt(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    name = worker_name()
    err_console.print(f"worker {name} waiting for jobs (Ctrl-C stops)")
    ran = run_worker(
        engine,
        stop=stop,
        poll_seconds=poll,
        once=once,
        kinds=[k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
        worker=name,
    )
    err_console.print(f"worker {name} stopped after {ran} job(s)")


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    fmt: FormatOption = "table",
    database: DatabaseOption = None,
) -> None:
    """Jobs, newest first."""
    from territorial.planning.jobs import list_jobs

    _check_format(fmt)
    rows = list_jobs(_engine(database), status=status)
    if fmt == "json":
        print(json.dumps(rows, default=_json_default))
        return
    table = Table(title=f"{len(rows)} jobs")
    for h in ("id", "kind", "status", "progress", "message", "by", "created"):
        table.add_column(h)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            r["status"],
            f"{r['progress']:.0%}",
            escape(str(r["error"] or r["message"] or "")[:80]),
            escape(str(r["created_by"] or "")),
            r["created_at"].strftime("%Y-%m-%d %H:%M") if r["created_at"] else "",
        )
    console.print(table)


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    database: DatabaseOption = None,
) -> None:
    """Cancel a queued job, or stop a running one at its next progress report."""
    from territorial.planning.jobs import cancel

    row = cancel(_engine(database), job_id=job_id)
    console.print(f"job {job_id}: {row['status']}")
