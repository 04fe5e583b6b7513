"""Market analysis: white space by geography and segment, and seasonality of buying.

Definitions (also in ``docs/scoring.md``):

* **covered account**: has an owner *and* at least one activity in the ``activity_days``
  days before ``as_of`` (default 90).
* **coverage** of a group: covered potential / potential (dollars per year over dollars
  per year, 0-1). **white space**: potential - covered potential (dollars per year).
* **seasonality**: won revenue by calendar month of close. Strength is reported three
  ways: ``amplitude`` ((peak - trough) / mean of the exposure-adjusted monthly won
  revenue), a chi-square test of deal counts by month against counts proportional to how
  often each month occurs in the history (``chi2_p``), and ``eta2``, the share of the
  variance of revenue per year-month explained by the calendar month, and
  ``eta2_adjusted`` (epsilon squared, which removes the share month would explain by
  chance), with a Kruskal-Wallis p-value over the same year-months. A group is called
  ``seasonal`` when ``chi2_p < seasonality_alpha`` and ``eta2_adjusted >=
  seasonality_min_eta2``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from territorial.scoring.config import MarketConfig, ScoringConfig, load_config

log = logging.getLogger(__name__)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Columns of every white-space table (after the grouping columns): name -> meaning.
WHITE_SPACE_COLUMNS: dict[str, str] = {
    "accounts": "accounts in the group",
    "potential": "sum of potential, dollars per year",
    "covered_potential": (
        "potential of covered accounts (owner and activity in the window), dollars per year"
    ),
    "coverage": "covered_potential / potential (0-1)",
    "white_space": "potential - covered_potential, dollars per year",
    "white_space_share": "the group's share of all white space (0-1)",
    "owned_accounts": "accounts with an owner",
    "active_accounts": "accounts with an activity in the window",
    "activities": "activities in the window",
    "won_revenue_12m": "won opportunity amounts closed in the 365 days before as_of, dollars",
}


def _zip3(postal: pd.Series) -> pd.Series:
    digits = postal.astype(str).str.extract(r"^\s*(\d{3})", expand=False)
    return digits.where(postal.notna() & digits.notna(), "unknown")


def account_coverage(
    accounts: pd.DataFrame,
    potential: pd.Series,
    activities: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    as_of: date,
    activity_days: int = 90,
) -> pd.DataFrame:
    """Per account: geography, segment, potential, owned, activity count, covered, won revenue.

    ``potential`` is indexed by account id (dollars per year).
    """
    start = pd.Timestamp(as_of) - pd.Timedelta(days=activity_days)
    end = pd.Timestamp(as_of)
    when = pd.to_datetime(activities["occurred_at"])
    recent = activities.loc[(when >= start) & (when < end), "account_id"].astype(str)
    counts = recent.value_counts()
    ids = accounts["id"].astype(str)
    won = opportunities[
        opportunities["is_won"].astype(bool)
        & (pd.to_datetime(opportunities["close_date"]) >= end - pd.Timedelta(days=365))
        & (pd.to_datetime(opportunities["close_date"]) < end)
    ]
    won_revenue = won.groupby(won["account_id"].astype(str))["amount"].sum()
    frame = pd.DataFrame(
        {
            "account_id": ids.to_numpy(),
            "state": accounts["state"].fillna("unknown").astype(str).to_numpy(),
            "zip3": _zip3(accounts["postal_code"]).to_numpy(),
            "segment": accounts["segment"].fillna("unknown").astype(str).to_numpy(),
            "potential": potential.reindex(ids).fillna(0.0).to_numpy(dtype=float),
            "owned": accounts["owner_id"].notna().to_numpy(),
            "activities": counts.reindex(ids).fillna(0).to_numpy(dtype=float),
            "won_revenue_12m": won_revenue.reindex(ids).fillna(0.0).to_numpy(dtype=float),
        }
    )
    frame["active"] = frame["activities"] > 0
    frame["covered"] = frame["owned"] & frame["active"]
    return frame


def white_space(coverage: pd.DataFrame, *, by: Sequence[str]) -> pd.DataFrame:
    """White space grouped ``by`` (e.g. ``["state"]``, ``["zip3"]``, ``["state", "segment"]``),
    largest white space first; columns :data:`WHITE_SPACE_COLUMNS`."""
    work = coverage.assign(
        covered_potential=np.where(coverage["covered"], coverage["potential"], 0.0)
    )
    out = work.groupby(list(by)).agg(
        accounts=("account_id", "size"),
        potential=("potential", "sum"),
        covered_potential=("covered_potential", "sum"),
        owned_accounts=("owned", "sum"),
        active_accounts=("active", "sum"),
        activities=("activities", "sum"),
        won_revenue_12m=("won_revenue_12m", "sum"),
    )
    out["coverage"] = (
        out["covered_potential"] / out["potential"].where(out["potential"] > 0)
    ).fillna(0.0)
    out["white_space"] = out["potential"] - out["covered_potential"]
    total = float(out["white_space"].sum())
    out["white_space_share"] = out["white_space"] / total if total > 0 else 0.0
    out = out[list(WHITE_SPACE_COLUMNS)].sort_values("white_space", ascending=False)
    return out.reset_index()


@dataclass(frozen=True, slots=True)
class Seasonality:
    """``monthly``: won revenue and deals per group and calendar month, with ``index`` (1 =
    average month, exposure-adjusted). ``strength``: per group, the tests described in the
    module docstring and the verdict ``seasonal``."""

    monthly: pd.DataFrame
    strength: pd.DataFrame


def _strength(
    deals: pd.DataFrame, year_months: pd.PeriodIndex, config: MarketConfig
) -> dict[str, object]:
    exposure = np.bincount(year_months.month - 1, minlength=12).astype(float)
    month = deals["close_date"].dt.month.to_numpy() - 1
    counts = np.bincount(month, minlength=12).astype(float)
    revenue = np.bincount(month, weights=deals["amount"].to_numpy(float), minlength=12)
    seen = exposure > 0
    mean_rev = np.where(seen, revenue / np.where(seen, exposure, 1.0), np.nan)
    avg = np.nanmean(mean_rev) if seen.any() else np.nan
    amplitude = (np.nanmax(mean_rev) - np.nanmin(mean_rev)) / avg if avg and avg > 0 else 0.0
    peak = int(np.nanargmax(mean_rev)) if np.isfinite(mean_rev).any() else 0

    chi2 = chi2_p = np.nan
    if counts.sum() > 0 and seen.sum() >= 2:
        expected = exposure[seen] / exposure[seen].sum() * counts.sum()
        chi2, chi2_p = stats.chisquare(counts[seen], expected)

    per_ym = (
        deals.groupby(deals["close_date"].dt.to_period("M"))["amount"]
        .sum()
        .reindex(year_months, fill_value=0.0)
    )
    values = per_ym.to_numpy(dtype=float)
    cal = per_ym.index.month.to_numpy()
    total_ss = float(((values - values.mean()) ** 2).sum())
    means = pd.Series(values).groupby(cal).transform("mean").to_numpy()
    between_ss = float(((means - values.mean()) ** 2).sum())
    eta2 = between_ss / total_ss if total_ss > 0 else 0.0
    # eta² is biased upward with few years per month (11 of 35 degrees of freedom already give
    # ~0.3 by chance); epsilon² subtracts that expectation and is what the verdict uses.
    k, n_obs = len(np.unique(cal)), len(values)
    within_ms = (total_ss - between_ss) / (n_obs - k) if n_obs > k else 0.0
    eta2_adjusted = max(0.0, (between_ss - (k - 1) * within_ms) / total_ss) if total_ss > 0 else 0.0
    kruskal_p = np.nan
    groups = [values[cal == m] for m in np.unique(cal)]
    if len(groups) >= 2 and total_ss > 0 and all(len(g) for g in groups):
        try:
            kruskal_p = float(stats.kruskal(*groups).pvalue)
        except ValueError:
            kruskal_p = np.nan
    seasonal = bool(
        np.isfinite(chi2_p)
        and chi2_p < config.seasonality_alpha
        and eta2_adjusted >= config.seasonality_min_eta2
    )
    return {
        "won_deals": int(counts.sum()),
        "won_revenue": float(revenue.sum()),
        "months_observed": len(year_months),
        "peak_month": MONTHS[peak],
        "amplitude": float(amplitude),
        "chi2": float(chi2) if np.isfinite(chi2) else np.nan,
        "chi2_p": float(chi2_p) if np.isfinite(chi2_p) else np.nan,
        "eta2": float(eta2),
        "eta2_adjusted": float(eta2_adjusted),
        "kruskal_p": kruskal_p,
        "seasonal": seasonal,
    }


def seasonality(
    opportunities: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    by: str = "segment",
    config: MarketConfig | None = None,
) -> Seasonality:
    """Monthly pattern of won revenue per ``by`` group (an account column) and overall.

    History spans the calendar months from the first to the last close of any closed
    opportunity; months without wins count as zero.
    """
    config = config or load_config().market
    opp = opportunities.copy()
    opp["close_date"] = pd.to_datetime(opp["close_date"])
    closed = opp[opp["is_closed"].astype(bool) & opp["close_date"].notna()]
    won = closed[closed["is_won"].astype(bool)].copy()
    if by != "all" and accounts is not None and by in accounts.columns:
        groups = accounts.set_index(accounts["id"].astype(str))[by]
        won[by] = won["account_id"].astype(str).map(groups).fillna("unknown")
    else:
        won[by] = "all"
    if closed.empty:
        empty = pd.DataFrame(columns=[by, "month", "won_revenue", "won_deals", "index"])
        return Seasonality(monthly=empty, strength=pd.DataFrame())
    year_months = pd.period_range(
        closed["close_date"].min().to_period("M"),
        closed["close_date"].max().to_period("M"),
        freq="M",
    )
    exposure = np.bincount(year_months.month - 1, minlength=12).astype(float)
    monthly_rows, strength_rows = [], []
    named = (
        [("all", won), *((str(k), g) for k, g in won.groupby(by))]
        if by != "all"
        else [("all", won)]
    )
    for name, deals in named:
        month = deals["close_date"].dt.month.to_numpy() - 1
        revenue = np.bincount(month, weights=deals["amount"].to_numpy(float), minlength=12)
        counts = np.bincount(month, minlength=12)
        per_month = np.where(exposure > 0, revenue / np.where(exposure > 0, exposure, 1), np.nan)
        mean = np.nanmean(per_month) if np.isfinite(per_month).any() else np.nan
        index = per_month / mean if mean and mean > 0 else np.zeros(12)
        monthly_rows.append(
            pd.DataFrame(
                {
                    by: name,
                    "month": MONTHS,
                    "won_revenue": revenue,
                    "won_deals": counts,
                    "index": index,
                }
            )
        )
        strength_rows.append({by: name, **_strength(deals, year_months, config)})
    return Seasonality(
        monthly=pd.concat(monthly_rows, ignore_index=True),
        strength=pd.DataFrame(strength_rows),
    )


@dataclass(frozen=True, slots=True)
class MarketReport:
    """Files written by :func:`write_market_report`."""

    directory: Path
    tables: dict[str, Path] = field(default_factory=dict)
    charts: dict[str, Path] = field(default_factory=dict)
    index: Path | None = None


def _charts(out: Path, tables: dict[str, pd.DataFrame], season: Seasonality) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts: dict[str, Path] = {}

    by_state = tables["white_space_by_state"].head(15).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.barh(by_state["state"], by_state["covered_potential"] / 1e6, label="covered potential")
    ax.barh(
        by_state["state"],
        by_state["white_space"] / 1e6,
        left=by_state["covered_potential"] / 1e6,
        label="white space",
    )
    ax.set_xlabel("potential, $M per year")
    ax.set_title("White space by state (top 15)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    charts["white_space_by_state"] = out / "white_space_by_state.png"
    fig.savefig(charts["white_space_by_state"], dpi=110)
    plt.close(fig)

    states = tables["white_space_by_state"]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(
        states["potential"] / 1e6,
        states["coverage"] * 100,
        s=20 + 80 * states["white_space_share"] / max(states["white_space_share"].max(), 1e-9),
    )
    for _, row in states.head(10).iterrows():
        ax.annotate(str(row["state"]), (row["potential"] / 1e6, row["coverage"] * 100), fontsize=8)
    ax.set_xlabel("potential, $M per year")
    ax.set_ylabel("coverage, % of potential")
    ax.set_title("Potential versus coverage by state")
    fig.tight_layout()
    charts["coverage_by_state"] = out / "coverage_by_state.png"
    fig.savefig(charts["coverage_by_state"], dpi=110)
    plt.close(fig)

    seg = tables["white_space_by_segment"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(seg["segment"], seg["covered_potential"] / 1e6, label="covered potential")
    ax.bar(
        seg["segment"],
        seg["white_space"] / 1e6,
        bottom=seg["covered_potential"] / 1e6,
        label="white space",
    )
    ax.set_ylabel("potential, $M per year")
    ax.set_title("White space by segment")
    ax.legend()
    fig.tight_layout()
    charts["white_space_by_segment"] = out / "white_space_by_segment.png"
    fig.savefig(charts["white_space_by_segment"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    monthly = season.monthly
    if len(monthly):
        key = monthly.columns[0]
        for name, part in monthly.groupby(key, sort=False):
            ax.plot(list(MONTHS), part["index"].to_numpy(), marker="o", label=str(name))
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
        ax.legend()
    ax.set_ylabel("won revenue index (1 = average month)")
    ax.set_title("Seasonality of won revenue")
    fig.tight_layout()
    charts["seasonality"] = out / "seasonality.png"
    fig.savefig(charts["seasonality"], dpi=110)
    plt.close(fig)
    return charts


def _index_html(
    out: Path,
    tables: dict[str, Path],
    charts: dict[str, Path],
    as_of: date,
    activity_days: int,
    season: Seasonality,
) -> Path:
    def esc(text: object) -> str:
        return html.escape(str(text))

    rows = "".join(
        f"<tr><td>{esc(r.iloc[0])}</td><td>{esc(r['peak_month'])}</td><td>{r['amplitude']:.2f}</td>"
        f"<td>{r['chi2_p']:.3g}</td><td>{r['eta2']:.2f} ({r['eta2_adjusted']:.2f})</td>"
        f"<td>{'yes' if r['seasonal'] else 'no'}</td></tr>"
        for _, r in season.strength.iterrows()
    )
    links = "".join(f'<li><a href="{esc(p.name)}">{esc(p.name)}</a></li>' for p in tables.values())
    images = "".join(
        f'<figure><img src="{esc(p.name)}" alt="{esc(name)}">'
        f"<figcaption>{esc(name)}</figcaption></figure>"
        for name, p in charts.items()
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Territorial market analysis</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
img{{max-width:100%}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2rem .5rem}}</style>
</head><body>
<h1>Market analysis</h1>
<p>As of {esc(as_of.isoformat())}. An account is <b>covered</b> when it has an owner and at
least one activity in the {activity_days} days before that date.
<b>Coverage</b> = covered potential / potential;
<b>white space</b> = potential - covered potential (dollars per year).</p>
<h2>Tables (CSV)</h2><ul>{links}</ul>
<h2>Seasonality of won revenue</h2>
<table><tr><th>group</th><th>peak month</th><th>amplitude</th><th>chi-square p</th>
<th>eta² (adjusted)</th><th>seasonal</th></tr>{rows}</table>
<h2>Charts</h2>{images}
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_market_report(
    out_dir: str | Path,
    *,
    accounts: pd.DataFrame,
    potential: pd.Series,
    opportunities: pd.DataFrame,
    activities: pd.DataFrame,
    as_of: date,
    config: ScoringConfig | None = None,
) -> MarketReport:
    """White space (by state, 3-digit ZIP, segment, state x segment) and seasonality tables as
    CSV, PNG charts and an ``index.html`` linking them, in ``out_dir``."""
    config = config or load_config()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    coverage = account_coverage(
        accounts,
        potential,
        activities,
        opportunities,
        as_of=as_of,
        activity_days=config.market.activity_days,
    )
    frames = {
        "white_space_by_state": white_space(coverage, by=["state"]),
        "white_space_by_zip3": white_space(coverage, by=["state", "zip3"]),
        "white_space_by_segment": white_space(coverage, by=["segment"]),
        "white_space_by_state_segment": white_space(coverage, by=["state", "segment"]),
    }
    season = seasonality(opportunities, accounts, by="segment", config=config.market)
    frames["seasonality_monthly"] = season.monthly
    frames["seasonality_strength"] = season.strength
    tables: dict[str, Path] = {}
    for name, frame in frames.items():
        tables[name] = out / f"{name}.csv"
        frame.to_csv(tables[name], index=False)
    charts = _charts(out, frames, season)
    index = _index_html(out, tables, charts, as_of, config.market.activity_days, season)
    return MarketReport(directory=out, tables=tables, charts=charts, index=index)


def market_report_from_store(
    engine: object, out_dir: str | Path, *, config: ScoringConfig | None = None
) -> MarketReport:
    """Read the store (accounts, activities, opportunities, ``account_scores``) and write the
    report; when nothing was scored yet, potential is computed on the fly (not stored)."""
    from territorial.scoring.frames import (
        prepare_accounts,
        prepare_activities,
        prepare_opportunities,
    )
    from territorial.scoring.pipeline import default_as_of, score_accounts
    from territorial.scoring.store_adapter import read_book
    from territorial.store.scores import read_scores, scores_as_of

    config = config or load_config()
    book = read_book(engine)  # type: ignore[arg-type]
    accounts = prepare_accounts(book.accounts)
    opportunities = prepare_opportunities(book.opportunities)
    activities = prepare_activities(book.activities)
    scores = read_scores(engine, columns=("account_id", "potential"))  # type: ignore[arg-type]
    as_of = scores_as_of(engine)  # type: ignore[arg-type]
    if scores.empty:
        log.warning(
            "account_scores is empty: computing potential now (run `territorial score` to store it)"
        )
        run = score_accounts(
            accounts,
            reps=book.reps,
            opportunities=opportunities,
            activities=activities,
            config=config,
        )
        scores, as_of = run.scores[["account_id", "potential"]], run.as_of
    as_of = as_of or default_as_of(opportunities, activities)
    potential = scores.set_index("account_id")["potential"]
    return write_market_report(
        out_dir,
        accounts=accounts,
        potential=potential,
        opportunities=opportunities,
        activities=activities,
        as_of=as_of,
        config=config,
    )
