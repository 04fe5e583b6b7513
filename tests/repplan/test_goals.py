"""Quota and goals in the rep's plan: figures come from territorial.goals (standings,
goal_progress), reach the PDF, the XLSX (Summary and Goals sheets), the JSON and the
workspace page; without a quota or goals the plan says so and who fixes it."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from territorial.goals.performance import data_as_of, load_extract
from territorial.goals.quotas import plan_quotas, save_quotas
from territorial.goals.smart import goal_progress, set_goal
from territorial.goals.standings import standings
from territorial.repplan import load_plan_data, rep_plans
from territorial.repplan.export import write_plan_files
from territorial.repplan.goals import NO_GOALS, NO_QUOTA, rep_goals

from .test_files import START, _url, run
from .test_workspace_api import people  # noqa: F401 (fixture)


def _with_quota_and_goal(engine: Engine, rep_id: str) -> None:
    as_of = data_as_of(load_extract(engine))
    save_quotas(engine, result=plan_quotas(engine, target=5_000_000, period=f"FY{as_of.year}"))
    set_goal(engine, scope="rep", subject_id=rep_id, metric="activities_per_week", target=6)


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


def _summary(path: Path) -> dict[str, list[object]]:
    rows = list(load_workbook(path, read_only=True)["Summary"].values)
    out: dict[str, list[object]] = {}
    for row in rows[1:]:
        key, value = (*row, None)[:2]  # a trailing empty cell is not stored
        out.setdefault(str(key), []).append(value)
    return out


def test_without_quota_or_goals_the_plan_says_so(scored: Engine, tmp_path: Path) -> None:
    data = load_plan_data(scored)
    rep_id = data.carriers()[0]
    goals = rep_goals(scored, rep_ids=[rep_id])[rep_id]
    assert goals.quota is None and goals.attainment is None and goals.goals == []
    assert goals.missing == [NO_QUOTA, NO_GOALS]

    plan = next(rep_plans(scored, rep_ids=[rep_id]))
    assert plan.to_dict()["goals"]["missing"] == [NO_QUOTA, NO_GOALS]
    write_plan_files(plan, tmp_path)
    summary = _summary(tmp_path / f"{rep_id}.xlsx")
    assert summary["missing"] == [NO_QUOTA, NO_GOALS]
    assert summary["quota"] == [None]
    goal_rows = list(load_workbook(tmp_path / f"{rep_id}.xlsx", read_only=True)["Goals"].values)
    assert len(goal_rows) == 1 and goal_rows[0][:3] == ("scope", "subject_id", "metric")
    text = _pdf_text(tmp_path / f"{rep_id}.pdf")
    assert "No quota for this period" in text and "No SMART goals yet" in text


def test_goal_figures_are_the_goals_modules(scored: Engine, tmp_path: Path) -> None:
    data = load_plan_data(scored)
    carriers = data.carriers()
    rep_id = carriers[0]
    _with_quota_and_goal(scored, rep_id)

    goals = rep_goals(scored, rep_ids=carriers)
    table = standings(scored, by="rep", keys=frozenset(carriers)).set_index("key")
    for rep in carriers:
        mine = goals[rep]
        assert mine.period == table.attrs["period"] and mine.quota_set_id is not None
        assert mine.quota == pytest.approx(table.loc[rep, "quota"])
        assert mine.quota > 0
        assert mine.bookings == pytest.approx(table.loc[rep, "bookings"])
        assert mine.quota_to_date == pytest.approx(table.loc[rep, "quota_to_date"])
        expected_pace = table.loc[rep, "pace"]
        assert (mine.pace is None and math.isnan(expected_pace)) or mine.pace == pytest.approx(
            expected_pace
        )
        assert NO_QUOTA not in mine.missing
    progress = goal_progress(scored)
    expected = progress[(progress["scope"] == "rep") & (progress["subject_id"] == rep_id)]
    assert [g["metric"] for g in goals[rep_id].goals] == list(expected["metric"])
    assert goals[rep_id].goals[0]["target"] == 6 and goals[rep_id].missing == []
    assert goals[carriers[1]].missing == [NO_GOALS]

    plan = next(rep_plans(scored, rep_ids=[rep_id]))
    assert plan.goals is not None and plan.goals.quota == goals[rep_id].quota
    write_plan_files(plan, tmp_path)
    summary = _summary(tmp_path / f"{rep_id}.xlsx")
    assert summary["quota"] == [pytest.approx(goals[rep_id].quota)]
    assert summary["attainment"] == [pytest.approx(goals[rep_id].attainment)]
    assert summary["period"] == [goals[rep_id].period]
    assert "missing" not in summary
    sheet = list(load_workbook(tmp_path / f"{rep_id}.xlsx", read_only=True)["Goals"].values)
    header = list(sheet[0])
    assert [r[header.index("metric")] for r in sheet[1:]] == ["activities_per_week"]
    assert sheet[1][header.index("target")] == 6
    actual = expected["actual"].iloc[0]
    assert sheet[1][header.index("actual")] == (None if math.isnan(actual) else actual)
    text = _pdf_text(tmp_path / f"{rep_id}.pdf")
    assert f"${goals[rep_id].quota:,.0f} for {goals[rep_id].period}" in text
    assert "target 6; " in text and "set by the manager)" in text


def test_all_reps_read_the_goals_once(
    scored: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import territorial.goals.smart as smart
    import territorial.goals.standings as standing_module

    calls = {"standings": 0, "progress": 0}
    real_standings, real_progress = standing_module.standings, smart.goal_progress

    def counted_standings(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["standings"] += 1
        return real_standings(*args, **kwargs)

    def counted_progress(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["progress"] += 1
        return real_progress(*args, **kwargs)

    monkeypatch.setattr(standing_module, "standings", counted_standings)
    monkeypatch.setattr(smart, "goal_progress", counted_progress)
    out = tmp_path / "plans"
    url = _url(scored)
    assert run("rep-plan", "--all", "--no-pdf", "--out", str(out), "--start", START, "-d", url) == 0
    assert calls == {"standings": 1, "progress": 1}
    assert len(list(out.glob("*.xlsx"))) == len(load_plan_data(scored).carriers())


def test_goals_in_the_workspace_and_the_api(
    scored: Engine,
    people: dict[str, str],  # noqa: F811
) -> None:
    from fastapi.testclient import TestClient

    from territorial.api.app import create_app
    from territorial.settings import load_settings
    from territorial.web import auth

    from .test_workspace_api import TOKEN, login

    client, _ = login(scored, "rep@example.com")
    page = client.get("/workspace/plan")
    assert 'data-testid="plan-goals"' in page.text and "No quota for this period" in page.text

    _with_quota_and_goal(scored, people["rep"])
    expected = rep_goals(scored, rep_ids=[people["rep"]])[people["rep"]]
    page = client.get("/workspace/plan")
    assert f"${expected.quota:,.0f}" in page.text and "activities per week" in page.text
    assert "No quota for this period" not in page.text
    mine = client.get("/workspace/api/plan").json()["goals"]
    assert mine == expected.to_dict()

    _, secret = auth.create_api_token(scored, email="boss@example.com", name="t", scope="read")
    settings = load_settings(
        database_url=scored.url.render_as_string(hide_password=False), api_token=TOKEN
    )
    with TestClient(create_app(settings, engine=scored)) as api:
        boss = {"Authorization": f"Bearer {secret}"}
        team = api.get(f"/api/reps/{people['rep']}/plan", headers=boss)
        assert team.status_code == 200 and team.json()["goals"]["quota"] == expected.quota
        assert team.json()["goals"]["goals"][0]["metric"] == "activities_per_week"
        assert api.get(f"/api/reps/{people['outsider']}/plan", headers=boss).status_code == 404
