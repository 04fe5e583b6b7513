"""The calendar on hand-drawn cases: capacity, seasonality, visits grouped by place."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from territorial.repplan.playbook import SequenceRule
from territorial.repplan.schedule import Calendar, group_visits, visit_clusters

MONDAY = date(2026, 11, 2)


def _sequence(*steps: tuple[int, str, float]) -> SequenceRule:
    return SequenceRule.model_validate(
        {
            "name": "s",
            "steps": [{"day": d, "channel": c, "step": c, "hours": h} for d, c, h in steps],
        }
    )


def test_a_sequence_too_heavy_for_a_week_fits_nowhere() -> None:
    cal = Calendar(MONDAY, 4, limit=1.0)
    heavy = _sequence((0, "email", 0.6), (0, "call", 0.6))
    assert cal.place(heavy, travel_hours=0, cluster=None, season=None, segment=None) is None
    light = _sequence((0, "email", 0.6), (7, "call", 0.6))
    first = cal.place(light, travel_hours=0, cluster=None, season=None, segment=None)
    assert first is not None and first.start == 0
    # weeks 0 and 1 hold 0.6 of 1.0 each: the next one starts in week 2
    second = cal.place(light, travel_hours=0, cluster=None, season=None, segment=None)
    assert second is not None and second.start // 7 == 2
    assert (cal.load <= 1.0 + 1e-9).all()


def test_weekends_move_to_monday() -> None:
    cal = Calendar(MONDAY, 4, limit=10)
    placed = cal.place(
        _sequence((0, "email", 0.1), (5, "call", 0.1)),
        travel_hours=0,
        cluster=None,
        season=None,
        segment=None,
    )
    assert placed is not None
    assert placed.days == (0, 7)  # Saturday -> Monday


def test_seasonality_moves_the_ask_into_the_buying_month() -> None:
    cal = Calendar(MONDAY, 13, limit=10)
    season = {m: 1.0 for m in range(1, 13)} | {1: 2.0}  # buys in January
    seq = _sequence((0, "email", 0.1), (14, "call", 0.5), (21, "decision", 0.1))
    placed = cal.place(seq, travel_hours=0, cluster=None, season=season, segment="SMB")
    assert placed is not None
    ask = MONDAY + pd.Timedelta(days=placed.ask_day)
    assert ask.month == 1
    assert "SMB buys most in Jan" in placed.timing


def test_visits_of_one_cluster_share_a_day_and_a_trip() -> None:
    lat = np.array([40.0, 40.05, 35.0])
    lon = np.array([-75.0, -75.05, -80.0])
    clusters = visit_clusters(lat, lon)
    assert clusters[0] == clusters[1] != clusters[2]
    targets = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "account_name": ["A", "B", "C"],
            "city": ["X", "X", "Y"],
            "latitude": lat,
            "longitude": lon,
            "cluster": clusters,
            "miles": [30.0, 32.0, 300.0],
        }
    )
    schedule = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "c"],
            "account_name": ["A", "A", "B", "B", "C"],
            "day": [0, 8, 1, 10, 9],
            "channel": ["email", "visit", "email", "visit", "visit"],
            "step": ["e", "v", "e", "v", "v"],
            "hours": [0.2, 1.5, 0.2, 1.5, 1.5],
            "sequence": ["s"] * 5,
        }
    )
    out, trips = group_visits(
        schedule,
        targets,
        start=MONDAY,
        home=(40.3, -75.2),
        road_factor=1.25,
        speed_mph=40,
        default_miles=25,
    )
    visits = out[out["channel"] == "visit"].set_index("account_id")
    assert visits.loc["a", "day"] == visits.loc["b", "day"] == 7
    assert visits.loc["a", "trip"] == visits.loc["b", "trip"] != visits.loc["c", "trip"]
    shared = trips[trips["accounts"] == 2].iloc[0]
    assert shared["travel_hours"] < shared["separate_hours"]
    assert shared["date"] == date(2026, 11, 9)
