"""``territorial demo``: the main job end to end on a sample company.

Sample company → import into the store → score → design territories anchored at the
reps' homes → route the sample's leads → quotas → summary → serve the workspace. Every
step is the same library call the individual commands make; this command only strings
them together.
"""

import contextlib
import time
from typing import Annotated

import typer
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for

DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "territorial-demo"


@app.command("demo")
def demo_command(
    accounts: Annotated[int, typer.Option("--accounts", min=100, help="Sample accounts.")] = 5000,
    reps: Annotated[
        int | None,
        typer.Option(
            "--reps", min=5, help="Sample reps, all roles (default: what the workload needs)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample and the design.")] = 7,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Balance tolerance as a fraction (0.05 = ±5%).")
    ] = 0.05,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the territory design may take.")
    ] = 20.0,
    unit: Annotated[
        str,
        typer.Option(
            "--unit",
            help="Design units: county (counties, split where heavy, into contiguous "
            "territories on real borders), account, postal_code or h3.",
        ),
    ] = "county",
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve the web workspace when done."),
    ] = True,
    host: Annotated[str, typer.Option("--host", help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to serve on.")] = 8000,
    database: DatabaseOption = None,
) -> None:
    """Run the whole job on a generated sample company and serve the workspace.

    Writes the sample files under TERRITORIAL_HOME/sample, imports them into the store
    (the embedded SQLite file by default), scores every account, designs one territory
    per active account executive balanced on workload (within each rep's capacity; at the
    sample's head count single large accounts exceed any tight potential band), made of
    counties (split where heavy) in one piece on real borders unless ``--unit account``,
    stores the plan
    as the active one, routes the sample's leads month by month, sets quotas and prints a
    summary with the lead funnel by source.
    """
    from territorial.design.adapters import StoreDesignOptions
    from territorial.design.service import design_from_store
    from territorial.errors import ConfigError, ConflictError
    from territorial.io import import_paths
    from territorial.planning import lifecycle
    from territorial.planning.activation import activate
    from territorial.sample import DEFAULT_AS_OF, default_reps, write_sample_company
    from territorial.sample.leads import route_sample_leads
    from territorial.scoring import load_config
    from territorial.scoring.store_adapter import score_store
    from territorial.store import describe_url, open_store
    from territorial.store.records import entity_counts
    from territorial.web.auth import add_user

    settings = settings_for(database)
    started = time.perf_counter()
    steps: list[tuple[str, str, float]] = []

    def step(name: str, detail: str, since: float) -> float:
        now = time.perf_counter()
        steps.append((name, detail, now - since))
        err_console.print(f"[green]✓[/] {name}: {detail} ({now - since:.1f} s)")
        return now

    t = time.perf_counter()
    sample_dir = settings.home / "sample"
    with err_console.status(f"generating a sample company of {accounts:,} accounts..."):
        files = write_sample_company(
            sample_dir, accounts=accounts, reps=reps or default_reps(accounts), seed=seed
        )
    t = step("sample company", f"{len(files)} files in {sample_dir}", t)

    engine = open_store(settings.resolved_database_url)
    with err_console.status("importing into the store..."):
        report = import_paths([sample_dir], engine=engine)
    rows = ", ".join(f"{n:,} {entity}" for entity, n in report.counts.items())
    t = step("import", f"{rows}; {len(report.warnings):,} warnings", t)

    with err_console.status("scoring accounts..."):
        run = score_store(engine, config=load_config(None))
    quality = run.quality.summary() if run.quality is not None else "propensity model not trained"
    t = step("scoring", f"{len(run.scores):,} accounts; {quality}", t)

    # The demo admin (who approves the demo's plan) may exist from an earlier demo run.
    with contextlib.suppress(ConflictError, ConfigError):
        add_user(engine, email=DEMO_ADMIN_EMAIL, role="admin", password=DEMO_ADMIN_PASSWORD)
    admin = lifecycle.actor_for(engine, DEMO_ADMIN_EMAIL)
    author = lifecycle.Actor("territorial demo")

    with err_console.status("designing territories..."):
        done = design_from_store(
            engine,
            StoreDesignOptions.parse(
                {
                    "balance": {"workload_hours": tolerance},
                    "weight": "potential",
                    "unit": unit,
                    "seed": seed,
                    "time_limit": time_limit,
                }
            ),
            save_as=f"Demo plan (seed {seed})",
            created_by="territorial demo",
        )
        result, problem, plan_id = done.result, done.built.problem, done.plan_id
        assert plan_id is not None  # saved: save_as was given
        lifecycle.submit(engine, plan_id=plan_id, actor=author)
        lifecycle.approve(engine, plan_id=plan_id, actor=admin)
        activation = activate(engine, plan_id=plan_id, actor=admin)
    for message in done.warnings:
        err_console.print(f"[yellow]warning:[/] {message}")
    t = step(
        "design",
        f"{problem.n_territories} territories, plan #{plan_id} approved and active "
        f"({activation.owners_changed:,} owners changed)",
        t,
    )

    # --- the sample's leads, routed as they came in (issue 12: the lead-source funnel) ---
    with err_console.status("routing the sample's leads..."):
        routed = route_sample_leads(engine, files["leads"], as_of=DEFAULT_AS_OF)
    t = step(
        "leads",
        f"{routed.leads:,} leads routed month by month, {routed.routed:,} to a territory, "
        f"{routed.matched:,} matched to an account",
        t,
    )

    # --- goals (issue 12): a quota for the year and where each territory stands ---
    goals_rows = _demo_goals(engine, plan_id, settings.home / "cache")
    t = step("quotas", goals_rows[0][1], t)
    funnel, funnel_rows = _demo_funnel(engine, settings.home / "cache")
    goals_rows.append(("lead funnel", funnel))
    t = step("lead funnel", f"{funnel_rows:,} rows (territory x source) of the market view", t)

    counts = entity_counts(engine)
    summary = Table(title="Territorial demo", show_header=False)
    summary.add_column("what", style="bold")
    summary.add_column("value")
    for entity, count in counts.items():
        summary.add_row(entity, f"{count:,}")
    summary.add_row("database", describe_url(engine))
    report_dict = result.to_report_dict()
    summary.add_row("territories", f"{problem.n_territories}")
    summary.add_row(
        "worst balance deviation",
        ", ".join(
            f"{name} {entry['worst_deviation']:.1%} (tolerance {entry['tolerance']:.0%})"
            for name, entry in report_dict["balance"].items()
        ),
    )
    objective = report_dict["objective"]
    gap = report_dict["gap"]
    summary.add_row(
        "compactness (inertia)",
        f"{objective['value']:.4g} {objective['unit']}"
        + ("" if gap is None else f", within {gap:.2%} of the lower bound"),
    )
    summary.add_row("territories in one piece", _pieces_text(engine, plan_id))
    summary.add_row("propensity model", quality)
    for name, value in goals_rows:
        summary.add_row(name, value)
    summary.add_row("total time", f"{time.perf_counter() - started:.1f} s")
    console.print(summary)

    if serve:
        from territorial.cli.route import serve_command

        console.print(
            f"Workspace: http://{host}:{port}/  (log in as {DEMO_ADMIN_EMAIL} / "
            f"{DEMO_ADMIN_PASSWORD}); Ctrl-C stops it."
        )
        serve_command(host=host, port=port, deliver_alerts=False, database=database)


def _pieces_text(engine: object, plan_id: int) -> str:
    """How many of the plan's territories are in one piece on real county borders."""
    from territorial.design.areas import territory_pieces
    from territorial.store.plans import load_plan
    from territorial.store.records import read_accounts

    rows = load_plan(engine, plan_id=plan_id)["assignments"]  # type: ignore[arg-type]
    located = read_accounts(engine, columns=["id", "latitude", "longitude"])  # type: ignore[arg-type]
    frame = located.merge(
        rows.rename(columns={"account_id": "id", "territory_id": "territory"}), on="id"
    )
    pieces = territory_pieces(frame.dropna(subset=["latitude", "longitude"]))
    water = pieces.joined - pieces.on_land
    return f"{pieces.joined} of {pieces.territories} on real county borders" + (
        f" ({water} reach an island over water)" if water else ""
    )


def _demo_funnel(engine: object, cache_dir: object) -> tuple[str, int]:
    """Leads → opportunities → won by source over the market's last 365 days, and the
    number of funnel rows."""
    from territorial.goals.market import market_by_territory

    view = market_by_territory(engine, by="territory", cache_dir=cache_dir)  # type: ignore[arg-type]
    by_source = view.funnel.groupby("lead_source")[["leads", "opportunities", "won", "lost"]].sum()
    by_source = by_source.sort_values("leads", ascending=False)
    text = "; ".join(
        f"{source} {r.leads:,} → {r.opportunities:,} → {r.won:,} won"
        + (f" ({r.won / (r.won + r.lost):.0%})" if r.won + r.lost else "")
        for source, r in by_source.iterrows()
    )
    return f"{text} (to {view.attrs.get('as_of')})", len(view.funnel)


def _demo_goals(engine: object, plan_id: int, cache_dir: object) -> list[tuple[str, str]]:
    """Set FY2026 quotas (last year's bookings + 15%, blend of potential and history) and
    summarise the territories' standing to date: rows for the demo's summary table."""
    import numpy as np

    from territorial.goals.periods import parse_period
    from territorial.goals.quotas import QuotaOptions, plan_quotas, save_quotas, suggested_target
    from territorial.goals.smart import apply_derived, derive_targets
    from territorial.goals.standings import standings

    period = parse_period("FY2026")
    target = suggested_target(engine, period=period)
    result = plan_quotas(
        engine, target=target, period=period, plan_id=plan_id,
        options=QuotaOptions(method="blend"),
    )  # fmt: skip
    set_id = save_quotas(engine, result=result, created_by="territorial demo")
    apply_derived(engine, targets=derive_targets(engine), created_by="territorial demo")
    table = standings(engine, by="territory", cache_dir=cache_dir)  # type: ignore[arg-type]
    pace = table["pace"].to_numpy(dtype=float)
    pace = pace[np.isfinite(pace)]
    total_pace = table["bookings"].sum() / table["quota_to_date"].sum()
    return [
        (
            "quota",
            f"FY2026 target ${target:,.0f} (2025 bookings +15%, blend) over "
            f"{len(result.quotas)} territories, quota set #{set_id}; quota/potential CV "
            f"{result.fairness['cv_quota_over_potential']:.2f}",
        ),
        (
            "performance",
            f"to {table.attrs['as_of']}: bookings ${table['bookings'].sum():,.0f} = "
            f"{total_pace:.0%} of the quota to date; territories' pace: median "
            f"{np.median(pace):.0%}, middle half {np.percentile(pace, 25):.0%} to "
            f"{np.percentile(pace, 75):.0%}, all {np.min(pace):.0%} to {np.max(pace):.0%}",
        ),
    ]
