"""The lead-source funnel on the sample company (issue 12, item 5): the sample's leads
routed month by month (as ``territorial demo`` does), then leads → opportunities → won by
source checked against counts made here with plain Python from the sample's CSV files."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from territorial.goals.market import market_by_territory
from territorial.sample import DEFAULT_AS_OF
from territorial.sample.leads import LEAD_SOURCES, route_sample_leads
from territorial.store.routing import lead_decisions


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


@pytest.fixture
def routed(sqlite_url: str, sample_files: Path) -> Engine:
    from territorial.io import import_paths
    from territorial.routing.service import RoutingService
    from territorial.scoring.store_adapter import score_store
    from territorial.store import open_store

    engine = open_store(sqlite_url)
    import_paths([sample_files], engine=engine)  # the CRM files; leads/ is not imported
    score_store(engine)
    states = sorted({r["state"] for r in _rows(sample_files / "accounts.csv")})
    east = [s for s in states if s < "M"]
    west = [s for s in states if s >= "M"]
    rep = _rows(sample_files / "reps.csv")[0]["id"]
    rules = f"""
version: 1
name: sample funnel test
regions:
  - id: a-l
    match: {{state: [{", ".join(east)}]}}
    territories:
      - {{id: AL, match: {{}}, owner: {rep}}}
  - id: m-z
    match: {{state: [{", ".join(west)}]}}
    territories:
      - {{id: MZ, match: {{}}, owner: {rep}}}
"""
    service = RoutingService(engine)
    service.activate(service.upload_rules(rules)["id"])
    result = route_sample_leads(engine, sample_files / "leads" / "leads.csv", as_of=DEFAULT_AS_OF)
    assert result.leads == len(_rows(sample_files / "leads" / "leads.csv"))
    assert result.batches == 36  # three years, one batch per month
    return engine


def test_funnel_on_the_sample_matches_its_csv_files(
    routed: Engine, sample_files: Path, tmp_path: Path
) -> None:
    view = market_by_territory(routed, by="territory", cache_dir=tmp_path)
    as_of = date.fromisoformat(view.attrs["as_of"])
    start = date.fromisoformat(view.attrs["window_start"])
    assert as_of == DEFAULT_AS_OF and start == date(2025, 11, 1)

    # Plain Python from the CSV files: leads decided (month end, as_of at most) in the
    # window; opportunities created in it, and those won or lost by as_of.
    leads = _rows(sample_files / "leads" / "leads.csv")
    want_leads: Counter[str] = Counter()
    for lead in leads:
        decided = min(_month_end(date.fromisoformat(lead["created_date"])), as_of)
        if start <= decided <= as_of:
            want_leads[lead["lead_source"]] += 1
    want_opps: Counter[str] = Counter()
    want_won: Counter[str] = Counter()
    want_lost: Counter[str] = Counter()
    want_bookings: Counter[str] = Counter()
    for opp in _rows(sample_files / "opportunities.csv"):
        if not start <= date.fromisoformat(opp["created_date"]) <= as_of:
            continue
        source = opp["lead_source"]
        want_opps[source] += 1
        closed = opp["is_closed"] == "true" and date.fromisoformat(opp["close_date"]) <= as_of
        if closed and opp["is_won"] == "true":
            want_won[source] += 1
            want_bookings[source] += float(opp["amount"])
        elif closed:
            want_lost[source] += 1

    funnel = view.funnel.groupby("lead_source")[
        ["leads", "opportunities", "won", "lost", "bookings"]
    ].sum()
    assert sorted(funnel.index) == sorted(LEAD_SOURCES)  # no "unknown" row any more
    for source in LEAD_SOURCES:
        got = funnel.loc[source]
        assert got["leads"] == want_leads[source], source
        assert got["opportunities"] == want_opps[source], source
        assert got["won"] == want_won[source], source
        assert got["lost"] == want_lost[source], source
        assert got["bookings"] == pytest.approx(want_bookings[source], abs=0.05), source
    assert sum(want_leads.values()) > 5 * sum(want_opps.values()) > 0
    # Referrals convert and win far better than paid search.
    rate = funnel["opportunities"] / funnel["leads"]
    assert rate["referral"] > 3 * rate["paid search"]
    # The territories' leads add up to every lead of the window (none lost in grouping).
    routed_to = Counter(view.funnel.groupby("key")["leads"].sum().to_dict())
    assert sum(routed_to.values()) == sum(want_leads.values())


def test_converted_leads_match_their_accounts(routed: Engine, sample_files: Path) -> None:
    """Each converted lead was matched (by its web or e-mail domain) to the account its
    opportunity is on, so the funnel counts it in that account's territory."""
    with routed.connect() as conn:
        decisions = {d["record_id"]: d for d in lead_decisions(conn)}
    leads = _rows(sample_files / "leads" / "leads.csv")
    assert len(decisions) == len(leads)
    converted = [lead for lead in leads if lead["status"] == "Converted"]
    assert converted
    for lead in converted:
        decision = decisions[lead["id"]]
        assert decision["account_id"] == lead["converted_account_id"], lead["id"]
        assert decision["lead_source"] == lead["lead_source"]
        assert decision["territory_id"] in ("AL", "MZ")
        month_end = min(_month_end(date.fromisoformat(lead["created_date"])), DEFAULT_AS_OF)
        assert decision["decided_at"].date() == month_end
