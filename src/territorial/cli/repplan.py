"""``territorial rep-plan``: each rep's territory plan as PDF, XLSX and iCalendar files;
``territorial flags``: the reps' flags and account requests (list, accept, decline)."""

from __future__ import annotations

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
    goals = {rep_id: rep_goals(engine, rep_id=rep_id) for rep_id in ids}
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
