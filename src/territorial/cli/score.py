"""``territorial score`` and ``territorial market``: scoring and market analysis commands."""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for
from territorial.errors import ConfigError


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"--as-of wants a date YYYY-MM-DD, got {text!r}") from exc


@app.command("score")
def score_command(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Scoring configuration YAML (default: the shipped one, see --show-config).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Also write one row per account to FILE.csv or FILE.parquet."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Score as of YYYY-MM-DD. Default: the day after the latest activity or deal.",
        ),
    ] = None,
    show_config: Annotated[
        bool,
        typer.Option("--show-config", help="Print the documented default configuration and exit."),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Score every account: fit, propensity, potential, tier, workload and reasons.

    Replaces the store's account_scores table (one row per account) in one transaction.
    """
    from territorial.scoring import default_config_text, load_config
    from territorial.scoring.store_adapter import check_export_path, export_scores, score_store
    from territorial.store import describe_url, open_store

    if show_config:
        typer.echo(default_config_text(), nl=False)  # verbatim: no wrapping, valid YAML
        return
    cfg = load_config(config)
    when = _parse_date(as_of)
    if out is not None:
        check_export_path(out)
    engine = open_store(settings_for(database).resolved_database_url)
    with err_console.status("scoring accounts..."):
        run = score_store(engine, config=cfg, as_of=when)
    scores = run.scores
    console.print(
        f"Scored [bold]{len(scores):,}[/] accounts as of {run.as_of.isoformat()} "
        f"into account_scores at {describe_url(engine)}"
    )
    if run.quality is not None:
        q = run.quality
        console.print(f"Propensity model: {q.summary()}", highlight=False)
        table = Table(title="Reliability on the held-out window", show_lines=False)
        for name in ("predicted", "opportunities", "mean predicted", "observed win rate"):
            table.add_column(name, justify="right")
        for _, row in q.reliability.iterrows():
            table.add_row(
                f"{row['p_low']:.1f}-{row['p_high']:.1f}",
                f"{int(row['opportunities'])}",
                f"{row['mean_predicted']:.2f}",
                f"{row['observed_rate']:.2f}",
            )
        console.print(table)
        if run.importance is not None:
            top = ", ".join(run.importance["feature"].head(5))
            console.print(f"Strongest propensity features: {top}", highlight=False)
    else:
        err_console.print(
            f"[yellow]propensity not trained:[/] {run.propensity_skipped}", highlight=False
        )

    tiers = scores["tier"].value_counts().reindex(["A", "B", "C"], fill_value=0)
    console.print(
        f"Tiers: A {tiers['A']:,}, B {tiers['B']:,}, C {tiers['C']:,}. "
        f"Potential ${scores['potential'].sum():,.0f}/yr ({scores['potential_method'].iloc[0]}), "
        f"serviceable ${scores.loc[scores['serviceable'], 'potential'].sum():,.0f}/yr. "
        f"Workload {scores['workload_hours'].sum():,.0f} h/yr.",
        highlight=False,
    )
    capacity = run.capacity
    table = Table(title="Reps needed (workload / (hours per week x weeks x utilisation))")
    for name in ("group", "accounts", "workload h/yr", "reps needed", "reps available"):
        table.add_column(name, justify="right")
    for _, row in capacity.iterrows():
        available = (
            ""
            if row["reps_available"] != row["reps_available"]
            else f"{int(row['reps_available'])}"
        )
        table.add_row(
            str(row["group"]),
            f"{int(row['accounts']):,}",
            f"{row['workload_hours']:,.0f}",
            f"{row['reps_needed']:.1f}",
            available,
        )
    console.print(table)
    if out is not None:
        path = export_scores(run, out)
        console.print(f"Wrote {len(scores):,} rows to {path}")


@app.command("market")
def market_command(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for the CSV tables, PNG charts and index.html."),
    ],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Scoring configuration YAML (market section)."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="territory, segment or state: the market per group (TAM/SAM, white space by "
            "reason, tiers, lead-source funnel, product mix) to FILE.csv or FILE.xlsx.",
        ),
    ] = None,
    activity_days: Annotated[
        int | None,
        typer.Option("--activity-days", help="With --by: white space if untouched this long (90)."),
    ] = None,
    window_days: Annotated[
        int | None,
        typer.Option("--window-days", help="With --by: days of bookings and funnel (365)."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Market analysis: white space by state, 3-digit ZIP and segment; seasonality of wins.

    With --by: the market per territory, segment or state (see docs/goals.md) to a file.
    """
    from territorial.reports.market import market_report_from_store
    from territorial.scoring import load_config
    from territorial.store import open_store

    if by is not None:
        from territorial.cli.goals import market_by_command

        if config is not None:
            raise ConfigError("--config is for the folder report; --by reads the stored scores")
        market_by_command(
            by=by,
            out=out,
            activity_days=90 if activity_days is None else activity_days,
            window_days=365 if window_days is None else window_days,
            database=database,
        )
        return
    if activity_days is not None or window_days is not None:
        raise ConfigError(
            "--activity-days and --window-days go with --by; the folder report reads "
            "market.activity_days from --config"
        )
    cfg = load_config(config)
    engine = open_store(settings_for(database).resolved_database_url)
    with err_console.status("analysing the market..."):
        report = market_report_from_store(engine, out, config=cfg)
    console.print(
        f"Wrote {len(report.tables)} tables and {len(report.charts)} charts; open {report.index}"
    )
