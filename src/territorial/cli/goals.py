"""``territorial quota``, ``performance``, ``signals`` and ``goals``: set fair targets
per territory and see how each territory and rep is doing (issue 12)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for

goals_app = typer.Typer(
    help="SMART goals per rep or territory: set, derive from the plan, list, progress.",
    no_args_is_help=True,
)
app.add_typer(goals_app, name="goals")


def _money(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:,.0f}"


@app.command("quota")
def quota_command(
    plan: Annotated[int, typer.Option("--plan", help="Id of the plan (territory model version).")],
    target: Annotated[str, typer.Option("--target", help="Company target, dollars (> 0).")],
    period: Annotated[
        str, typer.Option("--period", help="FY2027 (fiscal year), 2027-Q1 or 2027-03.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="quotas.csv; the monthly phasing goes to quotas_monthly.csv."),
    ],
    method: Annotated[
        str, typer.Option("--method", help="potential, history or blend.")
    ] = "potential",
    potential_weight: Annotated[
        float, typer.Option("--potential-weight", help="blend: weight of potential.")
    ] = 0.5,
    history_weight: Annotated[
        float, typer.Option("--history-weight", help="blend: weight of trailing bookings.")
    ] = 0.5,
    growth_cap: Annotated[
        float,
        typer.Option("--growth-cap", help="history: clip each territory's growth to ±this."),
    ] = 0.5,
    floor: Annotated[
        float | None, typer.Option("--floor", help="Smallest quota per rep, dollars (pro-rated).")
    ] = None,
    cap: Annotated[
        float | None, typer.Option("--cap", help="Largest quota per rep, dollars (pro-rated).")
    ] = None,
    ramp: Annotated[
        str,
        typer.Option("--ramp", help="Ramp of a new rep, percent per month since start."),
    ] = "25,50,75",
    fiscal_start_month: Annotated[
        int, typer.Option("--fiscal-start-month", help="First month of the fiscal year, 1-12.")
    ] = 1,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Store the quotas as a new version.")
    ] = True,
    database: DatabaseOption = None,
) -> None:
    """Split a company target into quotas per territory, explained, with a fairness report.

    Writes one row per territory (territory, rep_id, quota, potential, ...) and the
    monthly phasing (territory, month, quota) beside it; nothing is written on error.
    """
    from territorial.goals.export import check_out_path
    from territorial.goals.quotas import (
        QuotaOptions,
        check_ramp,
        check_target,
        plan_quotas,
        save_quotas,
        write_quota_files,
    )
    from territorial.store import open_store

    amount = check_target(target)
    options = QuotaOptions(
        method=method,
        potential_weight=potential_weight,
        history_weight=history_weight,
        growth_cap=growth_cap,
        floor=floor,
        cap=cap,
        ramp=check_ramp(ramp),
        fiscal_start_month=fiscal_start_month,
    )
    options.validate()
    out_path, fmt = check_out_path(out)
    if fmt != "csv":
        from territorial.errors import ConfigError

        raise ConfigError(f"--out {str(out)!r} must be a .csv file")
    engine = open_store(settings_for(database).resolved_database_url)
    with err_console.status("splitting the target..."):
        result = plan_quotas(engine, target=amount, period=period, plan_id=plan, options=options)
    quotas_path, monthly_path = write_quota_files(result, out_path)
    saved = save_quotas(engine, result=result, created_by="cli") if save else None
    fairness = result.fairness
    table = Table(title=f"Quotas {result.period.label} ({options.method}), plan #{plan}")
    for column in ("territory", "rep", "potential", "quota", "quota/potential", "bottom-up"):
        table.add_column(column, justify="left" if column in ("territory", "rep") else "right")
    for row in result.quotas.head(25).itertuples(index=False):
        table.add_row(
            str(row.territory),
            str(row.rep_id or "-"),
            _money(row.potential),
            _money(row.quota),
            f"{row.quota_over_potential:.2f}" + (" !" if row.out_of_line else ""),
            _money(row.expected_bookings),
        )
    console.print(table)
    for line in result.explanation:
        console.print(f"• {line}", highlight=False)
    console.print(
        f"Target {amount:,.2f} $ over {fairness['territories']} territories; quota/potential "
        f"CV {fairness['cv_quota_over_potential']:.2f}, {len(fairness['outliers'])} out of line "
        f"(±{fairness['outlier_band']:.0%} of the median); bottom-up expected bookings "
        f"{fairness['expected_bookings_total']:,.0f} $.",
        highlight=False,
    )
    console.print(
        f"Wrote {quotas_path} and {monthly_path}" + (f"; quota set #{saved}" if saved else "")
    )


@app.command("performance")
def performance_command(
    by: Annotated[
        str, typer.Option("--by", help="rep, territory, segment, team, state, industry or product.")
    ],
    grain: Annotated[str, typer.Option("--grain", help="day, week, month or quarter.")],
    out: Annotated[Path, typer.Option("--out", help="perf.csv or perf.xlsx.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day YYYY-MM-DD (default: a year back).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day YYYY-MM-DD (default: the data's last).")
    ] = None,
    quota_set: Annotated[
        int | None, typer.Option("--quota-set", help="Quota set id (default: the newest).")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Bookings, won/lost, win rate, pipeline, activities, quota and attainment per group
    and period (one row each), checked against the raw opportunities to the cent."""
    from territorial.goals.export import check_out_path, write_table
    from territorial.goals.performance import performance_table, summary
    from territorial.goals.periods import parse_day
    from territorial.store import open_store

    first = parse_day(start, option="--from") if start else None
    last = parse_day(end, option="--to") if end else None
    check_out_path(out)
    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    with err_console.status("computing performance..."):
        table = performance_table(
            engine,
            by=by,
            grain=grain,
            start=first,
            end=last,
            quota_set_id=quota_set,
            cache_dir=settings.home / "cache",
        )
    write_table(table, out, sheet="performance")
    totals = summary(table)
    attainment = totals["attainment"]
    console.print(
        f"{len(table):,} rows ({totals['groups']} {by} × {totals['periods']} {grain}s) → {out}. "
        f"Bookings {totals['bookings']:,.2f} $, won {totals['won']:,}, lost {totals['lost']:,}"
        + (f", win rate {totals['win_rate']:.1%}" if totals["win_rate"] is not None else "")
        + (f", attainment {attainment:.1%}" if attainment is not None else ""),
        highlight=False,
    )


@app.command("signals")
def signals_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write them to FILE.csv or FILE.xlsx.")
    ] = None,
    notify: Annotated[
        bool,
        typer.Option("--notify/--no-notify", help="Queue them as notifications for the reps."),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Territories drifting out of band (pace, coverage, capacity, quota, activity, tier A)."""
    from territorial.goals.export import check_out_path, write_table
    from territorial.goals.signals import detect_signals, queue_signals
    from territorial.store import open_store

    if out is not None:
        check_out_path(out)
    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    with err_console.status("looking for signals..."):
        signals = detect_signals(engine, cache_dir=settings.home / "cache")
    table = Table(title=f"Signals as of {signals.attrs.get('as_of')}")
    for column in ("kind", "territory", "rep", "figure", "threshold", "what"):
        table.add_column(column)
    for s in signals.itertuples(index=False):
        table.add_row(
            s.kind,
            str(s.territory_id),
            str(s.rep_id or "-"),
            f"{s.figure:.2f}",
            f"{s.threshold:.2f}",
            s.message,
        )
    console.print(table)
    console.print(f"{len(signals)} signals.")
    if out is not None:
        write_table(signals, out, sheet="signals")
        console.print(f"Wrote {out}")
    if notify:
        queued = queue_signals(engine, signals=signals)
        console.print(f"Queued {queued} notifications (signals already queued today are skipped).")


@goals_app.command("set")
def goals_set_command(
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            help="activities_per_week, new_pipeline_per_month, tier_a_meetings, "
            "tier_a_coverage or win_rate.",
        ),
    ],
    target: Annotated[float, typer.Option("--target", help="The number to reach.")],
    rep: Annotated[str | None, typer.Option("--rep", help="Rep id.")] = None,
    territory: Annotated[str | None, typer.Option("--territory", help="Territory id.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why this target.")] = None,
    database: DatabaseOption = None,
) -> None:
    """A manager's goal for one rep or territory (replaces their previous one, kept)."""
    from territorial.errors import ConfigError
    from territorial.goals.smart import check_goal, set_goal
    from territorial.store import open_store

    if (rep is None) == (territory is None):
        raise ConfigError("give exactly one of --rep or --territory")
    scope, subject = ("rep", rep) if rep is not None else ("territory", territory)
    check_goal(scope, metric, target)
    engine = open_store(settings_for(database).resolved_database_url)
    goal_id = set_goal(
        engine,
        scope=scope,
        subject_id=str(subject),
        metric=metric,
        target=target,
        note=note,
        created_by="cli",
    )
    console.print(f"Goal #{goal_id}: {scope} {subject} {metric} ≥ {target:g}")


@goals_app.command("derive")
def goals_derive_command(
    scope: Annotated[str, typer.Option("--scope", help="rep or territory.")] = "rep",
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
    apply: Annotated[
        bool, typer.Option("--apply/--dry-run", help="Store them as goals (default: show).")
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Targets derived from the plan (workload, quota, tier-A accounts, win rate)."""
    from territorial.goals.smart import apply_derived, check_goal, derive_targets
    from territorial.store import open_store

    check_goal(scope, metric or "win_rate", None)
    engine = open_store(settings_for(database).resolved_database_url)
    targets = derive_targets(engine, scope=scope, metric=metric)
    table = Table(title=f"Derived goals per {scope}")
    for column in ("subject", "metric", "target", "how"):
        table.add_column(column)
    for t in targets:
        table.add_row(t.subject_id, t.metric, f"{t.target:,.2f}", t.note)
    console.print(table)
    if apply:
        console.print(f"Stored {apply_derived(engine, targets=targets, created_by='cli')} goals.")


@goals_app.command("list")
def goals_list_command(
    progress: Annotated[
        bool, typer.Option("--progress", help="With the actual of the current period.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE.csv/.xlsx.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Current goals, optionally with their progress."""
    import pandas as pd

    from territorial.goals.export import check_out_path, write_table
    from territorial.goals.smart import goal_progress
    from territorial.store import open_store
    from territorial.store.goals import list_goals

    if out is not None:
        check_out_path(out)
    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    frame = (
        goal_progress(engine, cache_dir=settings.home / "cache")
        if progress
        else pd.DataFrame(list_goals(engine))
    )
    table = Table(title="Goals")
    shown = [
        c
        for c in (
            "scope",
            "subject_id",
            "metric",
            "target",
            "source",
            "period",
            "actual",
            "previous",
            "on_track",
        )
        if c in frame.columns
    ]
    for column in shown:
        table.add_column(column)
    for row in frame[shown].itertuples(index=False) if len(frame) else []:
        table.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if out is not None:
        write_table(frame, out, sheet="goals")
        console.print(f"Wrote {out}")


def market_by_command(
    *, by: str, out: Path, activity_days: int, window_days: int, database: str | None
) -> None:
    """``territorial market --by ...``: the market per territory, segment or state; the
    market table to ``out``, the funnel and the product mix beside it (CSV) or as sheets
    (XLSX). Nothing is written on bad input."""
    from territorial.goals.export import check_out_path, write_tables
    from territorial.goals.market import check_market_options, market_by_territory
    from territorial.store import open_store

    check_market_options(by, activity_days, window_days)
    check_out_path(out)
    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    with err_console.status("measuring the market..."):
        view = market_by_territory(
            engine,
            by=by,
            activity_days=activity_days,
            window_days=window_days,
            cache_dir=settings.home / "cache",
        )
    market = view.market
    table = Table(
        title=f"Market per {by}, as of {view.attrs['as_of']} "
        f"(tiers by tam and {view.attrs['attainment_basis']})"
    )
    for column in ("group", "tam", "sam", "white space", "bookings", "tiers", "under"):
        table.add_column(column, justify="left" if column in ("group", "tiers") else "right")
    for row in market.head(25).itertuples(index=False):
        table.add_row(
            str(row.key),
            _money(row.tam),
            _money(row.sam),
            _money(row.white_space),
            _money(row.bookings),
            f"{row.potential_tier or '-'}/{row.attainment_tier or '-'}",
            "yes" if row.under_market else "",
        )
    console.print(table)
    paths = write_tables(view.tables(), out)
    under = market.loc[market["under_market"], "key"].astype(str).tolist()
    console.print(
        f"{len(market)} groups: TAM {market['tam'].sum():,.0f} $, "
        f"SAM {market['sam'].sum():,.0f} $, "
        f"white space {market['white_space'].sum():,.0f} $ (no owner "
        f"{market['ws_no_owner'].sum():,.0f}, no activity in {activity_days} days "
        f"{market['ws_no_activity'].sum():,.0f}, outside specialties "
        f"{market['ws_not_covered'].sum():,.0f}); under-performing their market: "
        + (", ".join(under) if under else "none"),
        highlight=False,
    )
    console.print("Wrote " + ", ".join(str(p) for p in paths))
