"""``territorial imports list|show|undo``: the import history, and taking an import back."""

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, settings_for
from territorial.errors import ConfigError

if TYPE_CHECKING:
    from territorial.store.records import ImportRecord

imports_app = typer.Typer(
    name="imports",
    help="Recorded imports: list them, show what one read and changed, undo one.",
    no_args_is_help=True,
)
app.add_typer(imports_app)

FormatOption = Annotated[
    str,
    typer.Option("--format", "-f", help="Output: table or json.", show_default=True),
]


def _check_format(fmt: str) -> str:
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format {fmt!r}: use table or json")
    return fmt


def _state(record: "ImportRecord") -> str:
    if record.kind == "undo":
        return f"undo of #{record.undoes}" + (
            f", undone by #{record.undone_by}" if record.undone_by else ""
        )
    if record.undone_by:
        return f"undone by #{record.undone_by}"
    return record.status


def _as_json(record: "ImportRecord") -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "status": record.status,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "source": record.source,
        "counts": record.counts,
        "undoes": record.undoes,
        "undone_by": record.undone_by,
        "warnings": len(record.warnings),
        "details": record.details,
    }


def _changes(record: "ImportRecord") -> str:
    changes = record.details.get("changes", {})
    parts = []
    for name in ("inserted", "updated", "restored", "deleted"):
        total = sum(changes.get(name, {}).values())
        if total:
            parts.append(f"{total:,} {'new' if name == 'inserted' else name}")
    return ", ".join(parts) or "no change"


@imports_app.command("list")
def list_command(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")
    ] = 20,
    fmt: FormatOption = "table",
    database: DatabaseOption = None,
) -> None:
    """List recorded imports and undos, newest first."""
    from territorial.store import open_store
    from territorial.store.records import list_imports

    _check_format(fmt)
    engine = open_store(settings_for(database).resolved_database_url)
    records = list_imports(engine, limit=limit)
    if fmt == "json":
        console.print_json(json.dumps([_as_json(r) for r in records]))
        return
    if not records:
        console.print("no imports yet (run 'territorial import FILES...')")
        return
    table = Table(title="imports")
    for name in ("id", "finished (UTC)", "state", "rows per entity", "changes", "source"):
        table.add_column(name, overflow="fold")
    for r in records:
        when = r.finished_at or r.started_at
        rows = ", ".join(f"{k} {v:,}" for k, v in r.counts.items()) or "-"
        table.add_row(
            f"#{r.id}",
            f"{when:%Y-%m-%d %H:%M:%S}",
            escape(_state(r)),
            escape(rows),
            escape(_changes(r)),
            escape(r.source),
        )
    console.print(table)


@imports_app.command("show")
def show_command(
    import_id: Annotated[int, typer.Argument(help="The import's id (see 'imports list').")],
    fmt: FormatOption = "table",
    database: DatabaseOption = None,
) -> None:
    """Show one import: its files and what they were recognised as, the readings
    decided (date orders, decimal marks, mapped values), changes and warnings."""
    from territorial.store import open_store
    from territorial.store.records import import_record

    _check_format(fmt)
    engine = open_store(settings_for(database).resolved_database_url)
    record = import_record(engine, import_id=import_id)
    if fmt == "json":
        payload = _as_json(record)
        payload["warnings"] = record.warnings
        console.print_json(json.dumps(payload, default=str))
        return
    console.print(f"import #{record.id}: {escape(_state(record))}, from {escape(record.source)}")
    console.print(f"changes: {escape(_changes(record))}")
    files = record.details.get("files", [])
    if files:
        table = Table(title="files")
        for name in ("file", "entity", "rows", "recognised by"):
            table.add_column(name, overflow="fold")
        for f in files:
            table.add_row(
                escape(str(f.get("path", ""))),
                escape(str(f.get("entity", ""))),
                f"{int(f.get('rows', 0)):,}",
                escape(str(f.get("recognised_by", ""))),
            )
        console.print(table)
    readings = record.details.get("readings", [])
    if readings:
        table = Table(title="read as")
        for name in ("file", "column", "reading", "why"):
            table.add_column(name, overflow="fold")
        for r in readings:
            table.add_row(*(escape(str(r.get(k) or "")) for k in ("file", "column", "reading",
                                                                   "reason")))  # fmt: skip
        console.print(table)
    if record.warnings:
        console.print(f"{len(record.warnings)} warning(s):")
        for w in record.warnings[:30]:
            row = f"row {w['row']}" if w.get("row") else None
            where = ", ".join(str(x) for x in (w.get("file"), row, w.get("column")) if x)
            console.print(f"  - {escape(where)}: {escape(str(w.get('reason', '')))}")


def undo_and_report(import_id: int, *, force: bool, database: str | None) -> None:
    """Undo one import and print what was put back (shared by ``import --undo``)."""
    from territorial.store import open_store
    from territorial.store.records import undo_import

    engine = open_store(settings_for(database).resolved_database_url)
    summary = undo_import(engine, import_id=import_id, force=force)
    table = Table(title=f"undid import #{import_id}")
    table.add_column("entity")
    table.add_column("restored", justify="right")
    table.add_column("removed", justify="right")
    for entity in ("accounts", "reps", "opportunities", "activities"):
        restored = summary.updated.get(entity, 0)
        removed = summary.deleted.get(entity, 0)
        if restored or removed:
            table.add_row(entity, f"{restored:,}", f"{removed:,}")
    console.print(table)
    console.print(
        f"recorded as import #{summary.import_id} (undo it to restore import #{import_id})"
    )


@imports_app.command("undo")
def undo_command(
    import_id: Annotated[int, typer.Argument(help="The import to undo (see 'imports list').")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Undo even when later imports' rows are owned by reps the undo removes.",
        ),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Put the tables back as they were before an import. Rows it added are removed,
    rows it changed or deleted come back; the undo is itself recorded (and can be
    undone). Refused when later imports changed the same rows: undo those first."""
    undo_and_report(import_id, force=force, database=database)
