"""``territorial design`` and ``territorial capacity``: carve territories, size the team."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for
from territorial.errors import ConfigError, InfeasibleError


def _read_csv(path: Path | None, what: str):
    import pandas as pd

    if path is None:
        return None
    if not path.exists():
        raise ConfigError(f"{what} file {str(path)!r} does not exist")
    try:
        return pd.read_csv(path, dtype={"id": str, "territory": str, "a": str, "b": str})
    except Exception as exc:  # pandas raises many kinds; the user needs the file name
        raise ConfigError(f"cannot read {what} file {str(path)!r}: {exc}") from exc


def _segment_counts(items: list[str]) -> dict[str, int] | None:
    if not items:
        return None
    out = {}
    for item in items:
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise ConfigError(f"--segment-territories wants SEGMENT=COUNT, got {item!r}")
        out[name.strip()] = int(count)
    return out


@app.command("design")
def design_command(
    units: Annotated[
        Path | None,
        typer.Argument(
            help="UNITS.csv: id, lat,lon (or x,y), numeric measures. Omit with --from-store."
        ),
    ] = None,
    territories: Annotated[
        int | None, typer.Option("--territories", "-k", help="Number of territories.")
    ] = None,
    balance: Annotated[
        list[str] | None,
        typer.Option("--balance", "-b", help="COLUMN=TOL, e.g. potential=5% (repeatable)."),
    ] = None,
    objective: Annotated[
        str, typer.Option("--objective", help="inertia | median | diameter")
    ] = "inertia",
    weight: Annotated[
        str | None,
        typer.Option("--weight", help="Measure weighting distances (default: 1 per unit)."),
    ] = None,
    adjacency: Annotated[
        Path | None,
        typer.Option("--adjacency", help="EDGES.csv: a,b[,length]; makes territories contiguous."),
    ] = None,
    centers: Annotated[
        Path | None, typer.Option("--centers", help="CENTERS.csv: id,lat,lon (rep home bases).")
    ] = None,
    current: Annotated[
        Path | None, typer.Option("--current", help="Current PLAN.csv (id,territory) to realign.")
    ] = None,
    max_moves: Annotated[
        int | None, typer.Option("--max-moves", help="With --current: move at most N units.")
    ] = None,
    move_penalty: Annotated[
        float, typer.Option("--move-penalty", help="With --current: objective cost per moved unit.")
    ] = 0.0,
    locked: Annotated[
        Path | None,
        typer.Option("--locked", help="LOCKED.csv (id,territory): units that must stay."),
    ] = None,
    allowed: Annotated[
        Path | None,
        typer.Option(
            "--allowed",
            help="ALLOWED.csv (id,territory): listed units only go to listed territories.",
        ),
    ] = None,
    segment: Annotated[
        str | None, typer.Option("--segment", help="Column whose values never share a territory.")
    ] = None,
    segment_territories: Annotated[
        list[str] | None,
        typer.Option(
            "--segment-territories", help="SEGMENT=COUNT territories per segment (repeatable)."
        ),
    ] = None,
    solver: Annotated[
        str,
        typer.Option(
            "--solver",
            help="auto (the engine picks and says why) or a solver's name: diameter, "
            "realign-lp, lp-regions, exact, fixed-lp, contiguous, heuristic (see "
            "docs/design-solvers.md).",
        ),
    ] = "auto",
    method: Annotated[
        str | None,
        typer.Option("--method", help="Older spelling: auto | heuristic (no LP/MIP) | exact."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds for the whole run.")
    ] = 60.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same plan).")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write PLAN.csv (id,territory).")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write REPORT.json.")] = None,
    best_effort: Annotated[
        bool,
        typer.Option(
            "--best-effort", help="Write the least-violating plan even when infeasible (exit 7)."
        ),
    ] = False,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Design from the store's accounts and active reps.")
    ] = False,
    unit: Annotated[
        str,
        typer.Option(
            "--unit",
            "--units",
            help="With --from-store: account | postal_code | h3 | county (contiguous "
            "territories made of counties, heavy ones split).",
        ),
    ] = "account",
    specialties: Annotated[
        bool,
        typer.Option("--specialties", help="With --from-store: respect rep industry specialties."),
    ] = False,
    current_plan: Annotated[
        int | None,
        typer.Option("--current-plan", help="With --from-store: stored plan id to realign."),
    ] = None,
    save_as: Annotated[
        str | None,
        typer.Option("--save-as", help="With --from-store: save the plan under this name."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Carve balanced, compact territories from UNITS.csv (or the store) and write PLAN.csv."""
    from territorial.design import adapters
    from territorial.design.engine import design
    from territorial.design.problem import parse_balance

    if out is None and save_as is None:
        raise ConfigError(
            "say where the plan goes: --out PLAN.csv (or --save-as NAME with --from-store)"
        )
    balances = [parse_balance(b) for b in (balance or [])]
    engine = None
    unit_of = None
    if from_store:
        from territorial.store import open_store

        engine = open_store(settings_for(database).resolved_database_url)
        measures = [b.measure for b in balances] or ["accounts", "annual_revenue"]
        tols = {b.tolerance for b in balances} or {0.05}
        if len(tols) > 1:
            raise ConfigError("--from-store uses one tolerance for every measure")
        problem, unit_of = adapters.problem_from_store(
            engine,
            measures=measures,
            tolerance=tols.pop(),
            objective=objective,
            weight=weight,
            unit=unit,
            specialties=specialties,
            current_plan_id=current_plan,
            max_moves=max_moves,
        )
    else:
        if units is None:
            raise ConfigError("give UNITS.csv or --from-store")
        problem = adapters.problem_from_frames(
            _read_csv(units, "units"),
            balance=balances,
            objective=objective,
            weight=weight,
            n_territories=territories,
            edges_df=_read_csv(adjacency, "adjacency"),
            centers_df=_read_csv(centers, "centers"),
            current_df=_read_csv(current, "current plan"),
            locked_df=_read_csv(locked, "locked units"),
            allowed_df=_read_csv(allowed, "allowed"),
            max_moves=max_moves,
            move_penalty=move_penalty,
            segment=segment,
            segment_territories=_segment_counts(segment_territories or []),
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Progress(
            TextColumn("[bold]design[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}% {task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("checking", total=1.0)

            def progress(fraction: float, message: str) -> None:
                bar.update(task, completed=fraction, description=escape(message))

            result = design(
                problem,
                solver=solver,
                method=method,  # type: ignore[arg-type]
                time_limit=time_limit,
                seed=seed,
                progress=progress,
                strict=not best_effort,
            )
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.to_frame().to_csv(out, index=False)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_report_dict(), indent=2) + "\n")
    if save_as is not None:
        if engine is None:
            raise ConfigError("--save-as needs --from-store")
        from territorial.store.plans import save_plan

        plan_id = save_plan(
            engine,
            name=save_as,
            result=result,
            parent_id=current_plan,
            parameters={"objective": objective, "balance": balance, "unit": unit, "seed": seed},
            account_units=unit_of,
        )
        err_console.print(f"saved plan {plan_id} ({escape(save_as)})")
    _print_summary(result)
    if not result.feasible:
        raise InfeasibleError(
            "the plan written does not meet every constraint: " + "; ".join(result.violations)
        )


def _print_summary(result) -> None:
    from territorial.design.report import summary_rows

    header, rows = summary_rows(result)
    table = Table(title=f"{len(rows)} territories, {result.problem.n_units:,} units")
    for h in header:
        table.add_column(h, justify="left" if h == "territory" else "right")
    shown = rows if len(rows) <= 40 else [*rows[:20], ["..."] * len(header), *rows[-20:]]
    for r in shown:
        table.add_row(*r)
    console.print(table)
    console.print(
        f"solver: {result.solver} ({escape(result.solver_reason)}); path: {result.method}",
        highlight=False,
    )
    for fallback in result.fallbacks:
        console.print(f"[yellow]fallback:[/] {escape(fallback)}", highlight=False)
    gap = result.gap
    bound = "none" if result.lower_bound is None else f"{result.lower_bound:,.6g}"
    console.print(
        f"objective ({result.problem.objective}): {result.objective:,.6g} {result.objective_unit}; "
        f"lower bound: {bound}; gap: {'n/a' if gap is None else f'{gap:.2%}'}; "
        f"worst deviation: {result.worst_deviation:.2%}; "
        f"moved units: {int(result.moved['units'])}; "
        f"time: {result.seconds:.1f} s",
        highlight=False,
    )


@app.command("capacity")
def capacity_command(
    units: Annotated[Path, typer.Argument(help="CSV with a workload column (hours per period).")],
    workload: Annotated[
        str, typer.Option("--workload", help="Column with the workload in hours per period.")
    ] = "workload_hours",
    hours_per_week: Annotated[
        float, typer.Option("--hours-per-week", help="Selling hours a rep has per week.")
    ] = 40.0,
    utilisation: Annotated[
        float,
        typer.Option("--utilisation", help="Share of those hours spent on the workload (0-1)."),
    ] = 0.8,
    weeks: Annotated[
        float,
        typer.Option("--weeks", help="Working weeks in the workload's period (46 for a year)."),
    ] = 46.0,
    tolerance: Annotated[
        str, typer.Option("--tolerance", help="Balance tolerance the plan will use, e.g. 5%.")
    ] = "5%",
    segment: Annotated[
        str | None, typer.Option("--segment", help="Column to size each segment separately.")
    ] = None,
) -> None:
    """How many reps (territories) the workload needs."""
    from territorial.design.capacity import required_territories
    from territorial.design.problem import parse_balance

    df = _read_csv(units, "units")
    tol = parse_balance(f"x={tolerance}").tolerance
    plan = required_territories(
        df,
        workload=workload,
        hours_per_week=hours_per_week,
        utilisation=utilisation,
        weeks=weeks,
        tolerance=tol,
        segment=segment,
    )
    table = Table(title="reps needed")
    for h in ("segment", "workload h", "capacity h/rep", "exact", "reps", "load per rep", "note"):
        table.add_column(h, justify="left" if h in ("segment", "note") else "right")
    for row in plan:
        table.add_row(
            row.segment,
            f"{row.workload_hours:,.0f}",
            f"{row.capacity_hours:,.0f}",
            f"{row.exact:.2f}",
            str(row.territories),
            f"{row.load_per_rep:.1%}",
            row.note,
        )
    console.print(table)
