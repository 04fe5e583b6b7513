"""``territorial demo``: the whole job on a small sample, ending with a plan of counties
in one piece that explains every assignment, and the workspace's form repeating it."""

from __future__ import annotations

from pathlib import Path

import pytest

from territorial.cli import main
from territorial.planning.ownership import active_plan_id
from territorial.repplan.account_view import account_view
from territorial.store import open_store
from territorial.store.plans import load_plan
from territorial.web import services


def test_demo_designs_contiguous_county_territories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    try:
        main(["demo", "--accounts", "2000", "--time-limit", "8", "--no-serve", "--database", url])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert "worst balance deviation" in out and "total time" in out
    assert "territories in one piece" in out and "on real county borders" in out

    engine = open_store(url)
    plan_id = active_plan_id(engine)
    assert plan_id is not None
    plan = load_plan(engine, plan_id=plan_id)
    params = plan["parameters"]
    assert params["unit"] == "county" and params["source"] == "store"
    assert params["balance"] == {"workload_hours": 0.05}
    rows = plan["assignments"]
    assert rows["reason"].notna().all() and (rows["reason"].str.len() > 0).all()
    # the account's page says why it is where it is
    first = rows.iloc[0]
    seen = account_view(engine, account_id=first["account_id"])
    assert seen["owner"]["reason"] == first["reason"]

    # every territory in one piece on real county borders (islands joined across water)
    view = services.plan_view(engine, plan_id)
    pieces = services.contiguous_territories(view)
    assert pieces is not None and pieces.joined == pieces.territories == view.k
    figures = services.balance_rows(
        view, services.Scope(territories=None, may_open_scenarios=True), contiguity=True
    )
    assert figures["contiguous"] == view.k

    # the workspace's design form starts from the options of the plan in force
    form = services.design_form(engine)
    fields = {f["name"]: f["default"] for f in form["fields"]}
    assert fields["unit"] == "county" and fields["weight"] == "potential"
    assert [m["name"] for m in form["balance"] if m["checked"]] == ["workload_hours"]
