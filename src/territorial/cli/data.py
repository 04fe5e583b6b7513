"""``territorial import`` and ``territorial status``: get CRM data in, see what is there."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for
from territorial.errors import ConfigError, Problem, ValidationError

if TYPE_CHECKING:
    from territorial.io import ImportReport

# The library (pandas, Arrow, SQLAlchemy) is imported inside the commands so that
# `territorial --help` and other areas' commands start quickly.

#: Most warnings printed in full; the rest are counted (all are in the imports table).
SHOWN_WARNINGS = 30
#: Most problems printed in full; the rest are counted.
SHOWN_PROBLEMS = 200


def _problem_table(
    title: str, problems: list[Problem] | tuple[Problem, ...], *, style: str
) -> Table:
    table = Table(title=title, title_style=style, show_lines=False)
    for name in ("file", "row", "column", "value", "reason"):
        table.add_column(name, overflow="fold")
    for p in problems:
        table.add_row(
            escape(p.file),
            "" if p.row is None else str(p.row),
            escape(p.column or ""),
            escape("" if p.value is None else repr(p.value)),
            escape(p.reason),
        )
    return table


def print_problems(exc: ValidationError) -> None:
    """Every problem of a rejected import (the first ``SHOWN_PROBLEMS``), on stderr."""
    problems = list(exc.problems)
    err_console.print(
        _problem_table(
            f"{len(problems)} problem(s): nothing was imported",
            problems[:SHOWN_PROBLEMS],
            style="bold red",
        )
    )
    if len(problems) > SHOWN_PROBLEMS:
        err_console.print(f"[red]... and {len(problems) - SHOWN_PROBLEMS:,} more problems[/]")


def _readings_table(report: "ImportReport") -> Table:
    table = Table(title="read as", title_style="bold", show_lines=False)
    for name in ("file", "column", "reading", "why"):
        table.add_column(name, overflow="fold")
    for r in report.readings:
        table.add_row(escape(r.file), escape(r.column or ""), escape(r.reading), escape(r.reason))
    return table


def _summary_table(report: "ImportReport") -> Table:
    from territorial.io import ENTITIES

    verb = "would import" if report.dry_run else "imported"
    mode = " (replace, forced)" if report.forced else " (replace)" if report.replace else ""
    table = Table(title=f"{verb} in {report.seconds:.1f} s{mode}")
    table.add_column("entity")
    table.add_column("rows", justify="right")
    summary = report.summary
    if summary is not None:
        for name in ("new", "changed", "unchanged", "deleted"):
            table.add_column(name, justify="right")
    table.add_column("files")
    shown = set(report.counts) | (set(summary.deleted) if summary is not None else set())
    for entity in ENTITIES:
        if entity not in shown:
            continue
        files = ", ".join(f.path.name for f in report.files if f.entity == entity)
        row = [entity, f"{report.counts.get(entity, 0):,}"]
        if summary is not None:
            row += [
                f"{summary.inserted.get(entity, 0):,}",
                f"{summary.updated.get(entity, 0):,}",
                f"{summary.unchanged.get(entity, 0):,}",
                f"{summary.deleted.get(entity, 0):,}",
            ]
        table.add_row(*row, escape(files))
    return table


@app.command("import")
def import_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="CSV/TSV, XLSX or Parquet files, or folders holding them. What each file "
            "holds comes from --kind, its name (accounts*, reps*/users*, "
            "opportunities*/opps*/deals*, activities*/tasks*/events*) or its columns.",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            "-k",
            help="Treat every file as this entity: accounts, reps, opportunities or activities.",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            "-m",
            help="YAML file mapping source columns per entity "
            "({entity: {canonical column: source column}}); overrides the built-in aliases "
            "(see docs/import.md).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace the imported entities' rows wholesale (rows missing from the files "
            "are deleted) instead of updating by id. Refused when it would delete more than "
            "import_replace_max_share of a table or leave owners dangling, unless --force.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --replace: delete even a large share of a table, and the "
            "opportunities/activities of deleted accounts (all recoverable with --undo).",
        ),
    ] = False,
    date_format: Annotated[
        list[str] | None,
        typer.Option(
            "--date-format",
            help="Day/month order of numeric dates: dmy, mdy, ymd or a strptime format "
            "such as %d/%m/%Y; COLUMN=FORMAT sets one column. Default: decided per column "
            "from the whole file, and reported.",
            show_default=False,
        ),
    ] = None,
    decimal: Annotated[
        str | None,
        typer.Option(
            "--decimal",
            help="Decimal mark of numbers: comma or point. Default: decided per column "
            "(a semicolon-delimited file whose values do not say is refused).",
            show_default=False,
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            help="Worksheet of an XLSX workbook to read (default: the first).",
            show_default=False,
        ),
    ] = None,
    undo: Annotated[
        int | None,
        typer.Option(
            "--undo",
            help="Undo import ID instead of importing: restore the tables as they were "
            "before it (same as 'territorial imports undo ID').",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and report, write nothing."),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Import CRM exports (accounts, reps, opportunities, activities) into the store.

    Everything is validated first; any problem rejects the whole import, lists
    every problem (file, row, column, value, reason) and leaves the database as it
    was. Otherwise all files are written in one transaction, recorded so that
    'territorial imports undo ID' can put everything back.
    """
    if undo is not None:
        if paths:
            raise ConfigError("--undo takes no files: 'territorial import --undo ID'")
        from territorial.cli.imports import undo_and_report

        undo_and_report(undo, force=force, database=database)
        return
    if not paths:
        from typer._click.exceptions import MissingParameter

        param = next(p for p in ctx.command.params if p.name == "paths")
        raise MissingParameter(ctx=ctx, param=param)  # type: ignore[arg-type]
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from territorial.io import import_paths
    from territorial.store import describe_url, open_store

    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:

        def progress(step: str, done: int, total: int) -> None:
            phase = "write" if step.startswith(("writing", "written")) else "read"
            if phase not in tasks:
                tasks[phase] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[phase], description=step, completed=done, total=max(total, 1))

        try:
            report = import_paths(
                paths,
                engine=engine,
                mapping=mapping,
                kind=kind,
                replace=replace,
                dry_run=dry_run,
                progress=progress,
                sheet=sheet,
                date_format=date_format,
                decimal=decimal,
                force=force,
                max_delete_share=settings.import_replace_max_share,
            )
        except ValidationError as exc:
            bar.stop()
            print_problems(exc)
            raise ValidationError(str(exc.message).splitlines()[0]) from exc
    if report.warnings:
        shown = report.warnings[:SHOWN_WARNINGS]
        more = len(report.warnings) - len(shown)
        title = f"{len(report.warnings)} warning(s) (not blocking)"
        err_console.print(_problem_table(title, shown, style="yellow"))
        if more > 0:
            err_console.print(f"[yellow]... and {more} more warnings[/]")
    console.print(_readings_table(report))
    console.print(_summary_table(report))
    if report.summary is not None:
        console.print(
            f"import #{report.summary.import_id} stored in {describe_url(engine)} "
            f"(undo with: territorial imports undo {report.summary.import_id})"
        )


@app.command("status")
def status_command(database: DatabaseOption = None) -> None:
    """Show what the store holds: rows per entity, the last import, location and schema."""
    from territorial.store import describe_url, open_store
    from territorial.store.records import entity_counts, last_import, schema_version

    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    counts = entity_counts(engine)
    table = Table(title="Territorial store")
    table.add_column("entity")
    table.add_column("rows", justify="right")
    for entity, count in counts.items():
        table.add_row(entity, f"{count:,}")
    console.print(table)
    console.print(f"database: {escape(describe_url(engine))}")
    console.print(f"schema version: {', '.join(schema_version(engine)) or '(none)'}")
    last = last_import(engine)
    if last is None:
        console.print("last import: none yet (run 'territorial import FILES...')")
        return
    when = last.finished_at or last.started_at
    shown_counts = ", ".join(f"{k} {v:,}" for k, v in last.counts.items()) or "no rows"
    state = f"undone by #{last.undone_by}" if last.undone_by else last.status
    console.print(
        f"last import: #{last.id} {state} at {when:%Y-%m-%d %H:%M:%S} UTC from "
        f"{escape(last.source)} ({shown_counts}; {len(last.warnings)} warning(s))"
    )
