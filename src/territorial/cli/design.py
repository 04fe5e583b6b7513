"""``territorial design`` and ``territorial capacity``: carve territories, size the team."""

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
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


def _pairs(path: Path | None, what: str) -> list[tuple[str, str]] | None:
    """An ``id,territory`` file as (account id, territory) pairs."""
    df = _read_csv(path, what)
    if df is None:
        return None
    missing = {"id", "territory"} - set(df.columns)
    if missing:
        raise ConfigError(f"{what} file {str(path)!r} needs columns id,territory")
    bad = df[df["id"].isna() | df["territory"].isna()]
    if len(bad):
        row = int(bad.index[0]) + 2
        raise ConfigError(f"{what} file {str(path)!r}, row {row}: id and territory are required")
    return list(
        zip(df["id"].astype(str).str.strip(), df["territory"].astype(str).str.strip(), strict=True)
    )


def _territories(count: int | None, reps: str | None) -> int | list[str] | None:
    if reps is None:
        return count
    if count is not None:
        raise ConfigError("give --territories N or --territory-reps R1,R2, not both")
    return [t.strip() for t in reps.split(",") if t.strip()]


def _current_plan(text: str | None) -> int | str | None:
    if text is None:
        return None
    text = text.strip().lower()
    if text == "active":
        return "active"
    if not text.isdigit():
        raise ConfigError(f"--current-plan wants a plan id or 'active', got {text!r}")
    return int(text)


def _refuse(given: dict[str, object], why: str) -> None:
    """Refuse options that a path does not use (never ignore them silently)."""
    named = [flag for flag, value in given.items() if value not in (None, False, [], ())]
    if named:
        raise ConfigError(f"{', '.join(named)}: {why}")


@app.command("design")
def design_command(
    units: Annotated[
        Path | None,
        typer.Argument(
            help="UNITS.csv: id, lat,lon (or x,y), numeric measures. Omit with --from-store."
        ),
    ] = None,
    territories: Annotated[
        int | None,
        typer.Option(
            "--territories",
            "-k",
            help="Number of territories (--from-store default: one per rep whose role "
            "carries a territory; another count gives territories without reps).",
        ),
    ] = None,
    territory_reps: Annotated[
        str | None,
        typer.Option(
            "--territory-reps",
            help="With --from-store: comma-separated rep ids, one territory each.",
        ),
    ] = None,
    balance: Annotated[
        list[str] | None,
        typer.Option(
            "--balance",
            "-b",
            help="MEASURE=TOL, e.g. potential=5% (repeatable, one tolerance per measure). "
            "--from-store default: potential=10% and workload_hours=10%.",
        ),
    ] = None,
    objective: Annotated[
        str, typer.Option("--objective", help="inertia | median | diameter")
    ] = "inertia",
    weight: Annotated[
        str | None,
        typer.Option(
            "--weight",
            help="Measure weighting distances ('none': 1 per unit). Default: the first "
            "balanced measure (1 per unit when nothing is balanced).",
        ),
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
        int | None,
        typer.Option("--max-moves", help="With a current plan: move at most N units."),
    ] = None,
    move_penalty: Annotated[
        float,
        typer.Option("--move-penalty", help="With a current plan: objective cost per moved unit."),
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
    max_total: Annotated[
        list[str] | None,
        typer.Option(
            "--max",
            help="MEASURE=VALUE: every territory's total at most VALUE (repeatable), "
            "e.g. workload_hours=1100.",
        ),
    ] = None,
    min_total: Annotated[
        list[str] | None,
        typer.Option(
            "--min", help="MEASURE=VALUE: every territory's total at least VALUE (repeatable)."
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
    work_limit: Annotated[
        float | None,
        typer.Option(
            "--work-limit",
            help="Deterministic mode: stop on counted work (same inputs and seed, same plan).",
        ),
    ] = None,
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
        bool,
        typer.Option("--from-store", help="Design from the store's accounts and active reps."),
    ] = False,
    unit: Annotated[
        str | None,
        typer.Option(
            "--unit",
            "--units",
            help="With --from-store: account | postal_code | h3 | county (contiguous "
            "territories made of counties, heavy ones split).",
        ),
    ] = None,
    specialties: Annotated[
        bool,
        typer.Option(
            "--specialties",
            help="With --from-store: an account of an industry some reps specialise in only "
            "goes to them.",
        ),
    ] = False,
    capacity: Annotated[
        bool | None,
        typer.Option(
            "--capacity/--no-capacity",
            help="With --from-store: reps' capacity_hours and max_accounts limit their "
            "territories (default: on).",
        ),
    ] = None,
    current_plan: Annotated[
        str | None,
        typer.Option(
            "--current-plan", help="With --from-store: stored plan id (or 'active') to realign."
        ),
    ] = None,
    keep_locks: Annotated[
        bool | None,
        typer.Option(
            "--keep-locks/--no-keep-locks",
            help="With --current-plan: accounts locked in that plan stay (default: on).",
        ),
    ] = None,
    save_as: Annotated[
        str | None,
        typer.Option(
            "--save-as",
            help="With --from-store: save the plan as a draft under this name; the last "
            "line printed is `plan ID`.",
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Carve balanced, compact territories from UNITS.csv (or the store) and write PLAN.csv."""
    if out is None and save_as is None:
        raise ConfigError(
            "say where the plan goes: --out PLAN.csv (or --save-as NAME with --from-store)"
        )
    if from_store:
        _refuse(
            {"UNITS.csv": units, "--adjacency": adjacency, "--centers": centers},
            "--from-store designs the store's accounts around its reps' homes; these are "
            "for designs from files",
        )
        _refuse({"--method": method}, "use --solver with --from-store")
        result = _design_from_store(
            database=database,
            save_as=save_as,
            options={
                "balance": balance if balance else None,
                "objective": objective,
                "weight": weight,
                "territories": _territories(territories, territory_reps),
                "current_plan": _current_plan(current_plan),
                "current": _pairs(current, "current plan"),
                "max_moves": max_moves,
                "move_penalty": move_penalty,
                "keep_locks": keep_locks,
                "locked": _pairs(locked, "locked units"),
                "allowed": _pairs(allowed, "allowed"),
                "segment": segment,
                "segment_territories": _segment_counts(segment_territories or []),
                "specialties": specialties,
                "capacity": capacity,
                "max_totals": max_total or None,
                "min_totals": min_total or None,
                "unit": unit,
                "solver": solver,
                "seed": seed,
                "time_limit": time_limit,
                "work_limit": work_limit,
                "best_effort": best_effort,
            },
        )
        plan_id = result[1]
        result = result[0]
    else:
        _refuse(
            {
                "--unit": unit,
                "--territory-reps": territory_reps,
                "--specialties": specialties,
                "--capacity/--no-capacity": None if capacity is None else "given",
                "--current-plan": current_plan,
                "--keep-locks/--no-keep-locks": None if keep_locks is None else "given",
                "--save-as": save_as,
            },
            "these work on the store; add --from-store",
        )
        plan_id = None
        result = _design_from_files(
            units=units,
            territories=territories,
            balance=balance or [],
            objective=objective,
            weight=weight,
            adjacency=adjacency,
            centers=centers,
            current=current,
            max_moves=max_moves,
            move_penalty=move_penalty,
            locked=locked,
            allowed=allowed,
            segment=segment,
            segment_territories=segment_territories or [],
            max_total=max_total or [],
            min_total=min_total or [],
            solver=solver,
            method=method,
            time_limit=time_limit,
            work_limit=work_limit,
            seed=seed,
            best_effort=best_effort,
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.to_frame().to_csv(out, index=False)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_report_dict(), indent=2) + "\n")
    _print_summary(result)
    if plan_id is not None:
        console.print(f"plan {plan_id}", highlight=False)
    if not result.feasible:
        raise InfeasibleError(
            "the plan written does not meet every constraint: " + "; ".join(result.violations)
        )


class _Bar:
    """Rich progress on stderr for a design run."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]design[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}% {task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.task = self.progress.add_task("checking", total=1.0)

    def __call__(self, fraction: float, message: str) -> None:
        self.progress.update(self.task, completed=fraction, description=escape(message))


def _design_from_store(*, database: str | None, save_as: str | None, options: dict):  # type: ignore[no-untyped-def,type-arg]
    from territorial.design.adapters import StoreDesignOptions
    from territorial.design.service import design_from_store
    from territorial.store import open_store

    given = StoreDesignOptions.parse({k: v for k, v in options.items() if v is not None})
    engine = open_store(settings_for(database).resolved_database_url)
    bar = _Bar()
    with bar.progress:
        done = design_from_store(engine, given, save_as=save_as, progress=bar)
    for message in done.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
    for note in done.notes:
        err_console.print(f"note: {escape(note)}", highlight=False)
    balance = ", ".join(f"{m} ±{t:.1%}" for m, t in given.balance.items()) or "none"
    console.print(
        f"balance: {balance}; weight: {done.built.weight or 'none (1 per unit)'}",
        highlight=False,
    )
    if done.plan_id is not None:
        err_console.print(f"saved plan {done.plan_id} ({escape(save_as or '')}) as a draft")
    return done.result, done.plan_id


def _design_from_files(
    *,
    units: Path | None,
    territories: int | None,
    balance: list[str],
    objective: str,
    weight: str | None,
    adjacency: Path | None,
    centers: Path | None,
    current: Path | None,
    max_moves: int | None,
    move_penalty: float,
    locked: Path | None,
    allowed: Path | None,
    segment: str | None,
    segment_territories: list[str],
    max_total: list[str],
    min_total: list[str],
    solver: str,
    method: str | None,
    time_limit: float,
    work_limit: float | None,
    seed: int,
    best_effort: bool,
):  # type: ignore[no-untyped-def]
    from territorial.design import adapters
    from territorial.design.engine import design
    from territorial.design.problem import Limit, parse_balance

    if units is None:
        raise ConfigError("give UNITS.csv or --from-store")
    balances = [parse_balance(b) for b in balance]
    # the CLI contract: distances are weighted by the first balanced measure unless told
    if weight is not None and weight.lower() == "none":
        weight = None
    elif weight is None and objective != "diameter" and balances:
        weight = balances[0].measure
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
        segment_territories=_segment_counts(segment_territories),
    )
    upper = adapters.parse_measure_values(max_total, flag="--max", fraction=False)
    lower = adapters.parse_measure_values(min_total, flag="--min", fraction=False)
    if upper or lower:
        problem = problem.with_changes(
            limits=tuple(
                Limit(name, lower=lower.get(name), upper=upper.get(name))
                for name in dict.fromkeys([*upper, *lower])
            )
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bar = _Bar()
        with bar.progress:
            result = design(
                problem,
                solver=solver,
                method=method,  # type: ignore[arg-type]
                time_limit=time_limit,
                work_limit=work_limit,
                seed=seed,
                progress=bar,
                strict=not best_effort,
            )
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {escape(str(w.message))}", highlight=False)
    console.print(f"weight: {problem.weight or 'none (1 per unit)'}", highlight=False)
    return result


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
    mode = (
        f"deterministic, {result.work:.3g} of {result.work_limit:g} work units"
        if result.work_limit is not None and result.deterministic
        else "stopped by the safety time limit (not reproducible)"
        if result.work_limit is not None
        else "time limit"
    )
    weight = result.problem.weight or "none (1 per unit)"
    console.print(f"weight: {escape(weight)}; stopping: {mode}", highlight=False)
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
        float | None,
        typer.Option(
            "--hours-per-week",
            help="Selling hours a rep has per week (default: the scoring configuration's).",
        ),
    ] = None,
    utilisation: Annotated[
        float | None,
        typer.Option(
            "--utilisation",
            help="Share of those hours spent on the workload, 0-1 (default: the scoring "
            "configuration's capacity.utilisation, which territorial score uses too).",
        ),
    ] = None,
    weeks: Annotated[
        float | None,
        typer.Option(
            "--weeks",
            help="Working weeks in the workload's period (default: the scoring "
            "configuration's weeks_per_year).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Scoring configuration YAML (as territorial score)."),
    ] = None,
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
    from territorial.scoring import load_config

    capacity = load_config(config).capacity
    df = _read_csv(units, "units")
    tol = parse_balance(f"x={tolerance}").tolerance
    hours_per_week = capacity.hours_per_week if hours_per_week is None else hours_per_week
    utilisation = capacity.utilisation if utilisation is None else utilisation
    weeks = capacity.weeks_per_year if weeks is None else weeks
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
