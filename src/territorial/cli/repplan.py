"""``territorial rep-plan``: each rep's territory plan as PDF, XLSX and iCalendar files;
``territorial flags``: the reps' flags and account requests (list, accept, decline)."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for


def _engine(database: str | None) -> Any:
    from territorial.store import open_store

    return open_store(settings_for(database).resolved_database_url)


@app.command("rep-plan")
def rep_plan_command(
    out: Annotated[Path, typer.Option("--out", help="Folder the files are written to.")],
    rep: Annotated[
        list[str] | None,
        typer.Option("--rep", help="Rep id (repeat for several reps).", show_default=False),
    ] = None,
    all_reps: Annotated[
        bool, typer.Option("--all", help="Every rep who carries a territory.")
    ] = False,
    playbook: Annotated[
        Path | None,
        typer.Option("--playbook", help="Playbook YAML (default: the shipped playbook)."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day YYYY-MM-DD (default: the Monday after the data)."),
    ] = None,
    weeks: Annotated[int, typer.Option("--weeks", help="Weeks the plan covers.")] = 13,
    expansion_share: Annotated[
        float, typer.Option("--expansion-share", help="Share of target hours for customers.")
    ] = 0.4,
    outreach_share: Annotated[
        float, typer.Option("--outreach-share", help="Share of free hours planned for targets.")
    ] = 0.5,
    max_targets: Annotated[int, typer.Option("--max-targets", help="Most targets per rep.")] = 150,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = True,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes writing plans (2 on 2 cores).")
    ] = 1,
    database: DatabaseOption = None,
) -> None:
    """Write OUT/REP_ID.pdf, OUT/REP_ID.xlsx and OUT/REP_ID.ics for each rep.

    Every rep and the playbook are checked before anything is written.
    """
    from datetime import date

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from territorial.errors import ConfigError
    from territorial.repplan import (
        PlanOptions,
        load_plan_data,
        load_playbook,
        plan_rep_ids,
        rep_goals,
    )
    from territorial.repplan.export import write_rep_plans

    if all_reps == bool(rep):
        raise ConfigError("give --rep REP_ID (one or more) or --all, not both and not neither")
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        raise ConfigError(f"--start must be a date YYYY-MM-DD; got {start!r}") from None
    options = PlanOptions(
        start=first,
        weeks=weeks,
        expansion_share=expansion_share,
        outreach_share=outreach_share,
        max_targets=max_targets,
        playbook=load_playbook(playbook),
    )
    options.check()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    engine = _engine(database)
    data = load_plan_data(engine)
    ids = plan_rep_ids(data, None if all_reps else rep)
    goals = rep_goals(engine, rep_ids=ids, cache_dir=settings_for(database).home / "cache")
    with Progress(
        TextColumn("rep plans"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(ids))
        results = write_rep_plans(
            data,
            ids,
            out,
            options=options,
            pdf=pdf,
            workers=workers,
            goals=goals,
            progress=lambda rep_id: progress.update(task, advance=1, description=rep_id),
        )
    for n in results if len(results) == 1 else []:
        console.print(
            f"{escape(str(n['name']))} ({n['rep_id']}): {n['targets']} targets "
            f"({n['expansion_targets']} expansion, {n['new_logo_targets']} new logos); busiest "
            f"week {n['busiest_week_hours']:.1f} h of {n['capacity_hours_per_week']:.1f} h"
        )
    written = len(results)
    kinds = "pdf, xlsx, ics" if pdf else "xlsx, ics"
    console.print(f"wrote plans of {written} rep(s) to {escape(str(out))} ({kinds})")


flags_app = typer.Typer(
    help="Reps' flags and account requests: list the queue, accept or decline.",
    no_args_is_help=True,
)
app.add_typer(flags_app, name="flags")
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


def _show_flag(flag: dict[str, Any]) -> None:
    to = f" -> {flag['to_territory']}" if flag.get("to_territory") else ""
    draft = f" (draft plan {flag['draft_plan_id']})" if flag.get("draft_plan_id") else ""
    console.print(
        f"#{flag['id']} {flag['status']}: {flag['rep_id']} {flag['kind']} "
        f"{flag['account_id']}{escape(to)}{draft}"
    )


@flags_app.command("list")
def flags_list(
    status: Annotated[
        str, typer.Option("--status", help="open | accepted | declined | all")
    ] = "open",
    fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    database: DatabaseOption = None,
) -> None:
    """The queue of reps' flags and requests, oldest first."""
    import json

    from rich.table import Table

    from territorial.errors import ConfigError
    from territorial.repplan.flags import list_flags

    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json; got {fmt!r}")
    flags = list_flags(_engine(database), status=None if status == "all" else status)
    if fmt == "json":
        console.print_json(json.dumps(flags, default=str))
        return
    table = Table(title=f"Reps' flags ({status})")
    for column in ("id", "status", "rep", "kind", "account", "to", "comment", "decision"):
        table.add_column(column)
    for f in flags:
        table.add_row(
            str(f["id"]),
            f["status"],
            f["rep_id"],
            f["kind"],
            f["account_id"],
            f["to_territory"] or "",
            escape(f["comment"]),
            escape(f["decision_note"] or ""),
        )
    console.print(table)


@flags_app.command("add")
def flags_add(
    rep: Annotated[str, typer.Option("--rep", help="The rep who flags or requests.")],
    account: Annotated[str, typer.Option("--account", help="Account id.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="wrong_territory | wrong_segment | customer_of_another_rep | "
            "out_of_business | duplicate | request",
        ),
    ],
    comment: Annotated[str, typer.Option("--comment", help="What is wrong, in words.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Territory the account should go to.")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Record a rep's flag (an account of their book) or request (another's account)."""
    from territorial.repplan.flags import add_flag

    _show_flag(
        add_flag(
            _engine(database),
            rep_id=rep,
            account_id=account,
            kind=kind,
            comment=comment,
            to_territory=to,
        )
    )


@flags_app.command("accept")
def flags_accept(
    flag_id: Annotated[int, typer.Argument(help="Flag id (see flags list).")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Territory to move the account to (default: the flag's)."),
    ] = None,
    draft: Annotated[
        int | None,
        typer.Option("--draft", help="Draft plan to make the move in (default: the flags draft)."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Note for the rep.")] = None,
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Accept a flag: a move in a draft version when it names a territory; the rep is told."""
    from territorial.planning.lifecycle import actor_for
    from territorial.repplan.flags import accept

    engine = _engine(database)
    _show_flag(
        accept(
            engine,
            flag_id=flag_id,
            actor=actor_for(engine, user),
            to_territory=to,
            draft_plan_id=draft,
            note=note,
        )
    )


@flags_app.command("decline")
def flags_decline(
    flag_id: Annotated[int, typer.Argument(help="Flag id (see flags list).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the rep is told).")],
    user: UserOption = None,
    database: DatabaseOption = None,
) -> None:
    """Decline a flag with a reason; the rep is told."""
    from territorial.planning.lifecycle import actor_for
    from territorial.repplan.flags import decline

    engine = _engine(database)
    _show_flag(decline(engine, flag_id=flag_id, reason=reason, actor=actor_for(engine, user)))


@flags_app.command("counts")
def flags_counts(
    plan: Annotated[
        int | None, typer.Option("--plan", help="Only flags raised under this version.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="rep | territory")] = "rep",
    database: DatabaseOption = None,
) -> None:
    """Reps' feedback per rep or per territory (for the plan review): flags by status
    and kind; per territory also the requests of other reps for its accounts."""
    from territorial.repplan.flags import feedback_counts

    console.print(_counts_table(feedback_counts(_engine(database), plan_id=plan, by=by), by))


def _counts_table(rows: list[dict[str, Any]], by: str) -> Any:
    from rich.table import Table

    from territorial.repplan.flags import FLAG_KINDS, REQUEST, STATUSES

    key = "rep_id" if by == "rep" else "territory_id"
    columns = ["total", *STATUSES, "requests"] + (["requested away"] if by == "territory" else [])
    table = Table(title=f"Reps' feedback per {by}")
    table.add_column(by, no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("flags by kind")
    for row in rows:
        kinds = ", ".join(f"{k} {row[k]}" for k in FLAG_KINDS if row[k])
        values = [row["total"], *(row[s] for s in STATUSES), row[REQUEST]]
        if by == "territory":
            values.append(row["requested_away"])
        table.add_row(escape(str(row[key])), *map(str, values), kinds)
    return table


@flags_app.command("find")
def flags_find(
    rep: Annotated[str, typer.Option("--rep", help="The rep who wants to request an account.")],
    query: Annotated[str, typer.Option("--query", "-q", help="Part of an id, name or city.")],
    limit: Annotated[int, typer.Option("--limit", help="Most accounts shown (1-200).")] = 25,
    database: DatabaseOption = None,
) -> None:
    """Accounts of other territories the rep may request (then: flags add --kind request)."""
    from rich.table import Table

    from territorial.repplan.flags import requestable_accounts

    found = requestable_accounts(_engine(database), rep_id=rep, query=query, limit=limit)
    table = Table(title=f"Accounts {rep} may request matching {query!r}")
    for column in ("account", "name", "city", "industry", "territory", "open request"):
        table.add_column(column)
    for a in found:
        table.add_row(
            a["account_id"],
            escape(a["account_name"]),
            escape(", ".join(x for x in (a["city"], a["state"]) if x)),
            escape(a["industry"] or ""),
            escape(a["territory_name"] or "none"),
            f"#{a['open_request']}" if a["open_request"] else "",
        )
    console.print(table)
