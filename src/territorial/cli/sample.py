"""``territorial sample``: write a realistic sample company to import and play with."""

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from territorial.cli.app import app, console, err_console


@app.command("sample")
def sample_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write accounts, reps, opportunities and activities files into "
            "(created if missing; existing files of the same names are replaced).",
        ),
    ],
    accounts: Annotated[
        int, typer.Option("--accounts", "-n", min=1, help="Number of accounts (companies).")
    ] = 2000,
    reps: Annotated[
        int | None,
        typer.Option(
            "--reps",
            "-r",
            min=1,
            help="Number of reps (AEs, Senior AEs, SDRs and managers); default: the head "
            "count the workload model needs (about one seller per 30 accounts).",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", "-s", help="Random seed; the same seed writes identical files.")
    ] = 0,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="File format: csv, parquet or xlsx (Excel holds at most 1,048,575 rows a sheet).",
        ),
    ] = "csv",
    years: Annotated[
        int,
        typer.Option(
            "--years", min=1, max=10, help="Years of opportunity and activity history (1-10)."
        ),
    ] = 3,
    leads: Annotated[
        bool,
        typer.Option(
            "--leads/--no-leads",
            help="Also write OUT/leads/leads.<format> (about 9 leads per opportunity).",
        ),
    ] = True,
) -> None:
    """Generate a realistic sample company: accounts at real US places, reps, and years
    of opportunities and activities, as files `territorial import` reads, and the leads
    they came from (OUT/leads, for `territorial route`)."""
    # Imported here so that other commands do not pay for NumPy, pandas and SciPy.
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from territorial.sample import default_reps, generate_tables, write_tables
    from territorial.sample.memory import retain_freed_memory
    from territorial.sample.write import check_format

    fmt = check_format(fmt.lower(), accounts=accounts)
    reps = default_reps(accounts) if reps is None else reps
    started = time.perf_counter()
    retain_freed_memory()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def on_step(message: str) -> None:
            progress.update(task, description=message)

        tables = generate_tables(
            accounts=accounts, reps=reps, seed=seed, years=years, on_step=on_step, leads=leads
        )
        on_step(f"writing {fmt.upper()} files")
        paths = write_tables(tables, out, fmt=fmt)
    elapsed = time.perf_counter() - started
    console.print(_summary(tables, paths))
    console.print(f"Wrote {len(paths)} files to {out} in {elapsed:.1f} s (seed {seed}).")


def _summary(tables: dict[str, Any], paths: dict[str, Path]) -> Table:
    """Rows per file and, for accounts and reps, the number of states covered."""
    import pyarrow.compute as pc

    summary = Table(title="Sample company")
    summary.add_column("file")
    summary.add_column("rows", justify="right")
    summary.add_column("states", justify="right")
    summary.add_column("size", justify="right")
    for name, path in paths.items():
        table = tables[name]
        state_column = {"accounts": "state", "reps": "home_state"}.get(name)
        states = "" if state_column is None else str(pc.count_distinct(table[state_column]))
        size_mb = path.stat().st_size / 1e6
        summary.add_row(path.name, f"{table.num_rows:,}", states, f"{size_mb:,.1f} MB")
    return summary
