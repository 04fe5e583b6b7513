"""``territorial import`` and ``territorial status``: get CRM data in, see what is there."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for
from territorial.errors import Problem, ValidationError

if TYPE_CHECKING:
    from territorial.io import ImportReport

# The library (pandas, Arrow, SQLAlchemy) is imported inside the commands so that
# `territorial --help` and other areas' commands start quickly.

#: Most warnings printed in full; the rest are counted (all are in the imports table).
SHOWN_WARNINGS = 30


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


def _summary_table(report: ImportReport) -> Table:
    from territorial.io import ENTITIES

    verb = "would import" if report.dry_run else "imported"
    table = Table(
        title=f"{verb} in {report.seconds:.1f} s" + (" (replace)" if report.replace else "")
    )
    table.add_column("entity")
    table.add_column("rows", justify="right")
    if report.summary is not None:
        for name in ("new", "updated", "deleted"):
            table.add_column(name, justify="right")
    table.add_column("files")
    for entity in ENTITIES:
        if entity not in report.counts:
            continue
        files = ", ".join(f.path.name for f in report.files if f.entity == entity)
        row = [entity, f"{report.counts[entity]:,}"]
        if report.summary is not None:
            row += [
                f"{report.summary.inserted.get(entity, 0):,}",
                f"{report.summary.updated.get(entity, 0):,}",
                f"{report.summary.deleted.get(entity, 0):,}",
            ]
        table.add_row(*row, escape(files))
    return table


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="CSV/TSV, XLSX or Parquet files, or folders holding them. The file name "
            "says what it holds: accounts*, reps*/users*, opportunities*/opps*/deals*, "
            "activities*/tasks*/events*.",
            show_default=False,
        ),
    ],
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
            "are deleted) instead of updating by id. Still one transaction.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and report, write nothing."),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Import CRM exports (accounts, reps, opportunities, activities) into the store.

    Everything is validated first; any problem rejects the whole import, lists
    every problem (file, row, column, value, reason) and leaves the database as it
    was. Otherwise all files are written in one transaction.
    """
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
            )
        except ValidationError as exc:
            bar.stop()
            err_console.print(
                _problem_table(
                    f"{len(exc.problems)} problem(s): nothing was imported",
                    list(exc.problems),
                    style="bold red",
                )
            )
            raise ValidationError(str(exc.message).splitlines()[0]) from exc
    if report.warnings:
        shown = report.warnings[:SHOWN_WARNINGS]
        more = len(report.warnings) - len(shown)
        title = f"{len(report.warnings)} warning(s) (not blocking)"
        err_console.print(_problem_table(title, shown, style="yellow"))
        if more > 0:
            err_console.print(f"[yellow]... and {more} more warnings[/]")
    console.print(_summary_table(report))
    if report.summary is not None:
        console.print(f"import #{report.summary.import_id} stored in {describe_url(engine)}")


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
    console.print(
        f"last import: #{last.id} {last.status} at {when:%Y-%m-%d %H:%M:%S} UTC from "
        f"{escape(last.source)} ({shown_counts}; {len(last.warnings)} warning(s))"
    )
