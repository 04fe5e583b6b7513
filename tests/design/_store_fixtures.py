"""A small store you can see: 36 accounts in two columns, six people, scores.

Accounts ``A00``..``A35`` sit on a 6x6 grid of 0.5° around (35N, 95W); ``A{i}`` with
``i % 4 == 0`` are Healthcare (9 accounts), the rest Retail; the left three columns are
``SMB``, the right three ``Enterprise``. Every account has potential 1,000 $/yr and
workload 50 h/yr, revenue 1M, employees 10.

People (all located):

========  ===================  ========  ==============  ===========
id        role                 active    specialties     max_accounts
========  ===================  ========  ==============  ===========
R1        Account Executive    yes       Retail          —
R2        Account Executive    yes       Retail          —
R3        Senior AE            yes       Healthcare      —
M1        Manager              yes       —               —
S1        SDR                  yes       —               0
R4        Account Executive    no        —               —
========  ===================  ========  ==============  ===========

R1 is in the west, R2 in the east, R3 in the middle. With the default settings only
R1, R2 and R3 carry territories.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert

from territorial.store import open_store
from territorial.store.scores import SCORE_TABLE_COLUMNS, write_scores
from territorial.store.tables import accounts, reps

N_SIDE = 6
ACCOUNT_IDS = [f"A{i:02d}" for i in range(N_SIDE * N_SIDE)]
HEALTHCARE = [a for i, a in enumerate(ACCOUNT_IDS) if i % 4 == 0]


def _account(i: int) -> dict[str, Any]:
    row, col = divmod(i, N_SIDE)
    return {
        "id": ACCOUNT_IDS[i],
        "name": f"Account {i}",
        "latitude": 33.75 + 0.5 * row,
        "longitude": -96.25 + 0.5 * col,
        "industry": "Healthcare" if i % 4 == 0 else "Retail",
        "segment": "SMB" if col < 3 else "Enterprise",
        "annual_revenue": 1_000_000.0,
        "employees": 10,
        "postal_code": f"7{row}{col}00",
        "country": "US",
    }


def _rep(rid: str, role: str, lon: float, *, active: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "name": f"Rep {rid}",
        "role": role,
        "home_latitude": 35.0,
        "home_longitude": lon,
        "active": active,
        "specialties": extra.pop("specialties", None),
        "capacity_hours": extra.pop("capacity_hours", 40.0),
        "max_accounts": extra.pop("max_accounts", None),
        **extra,
    }


REPS = [
    _rep("R1", "Account Executive", -96.0, specialties=["Retail"]),
    _rep("R2", "Account Executive", -93.8, specialties=["Retail"]),
    _rep("R3", "Senior AE", -94.9, specialties=["Healthcare"]),
    _rep("M1", "Manager", -95.0),
    _rep("S1", "SDR", -95.1, max_accounts=0),
    _rep("R4", "Account Executive", -95.2, active=False),
]


def _scores() -> pd.DataFrame:
    n = len(ACCOUNT_IDS)
    frame = pd.DataFrame({"account_id": ACCOUNT_IDS})
    defaults: dict[str, Any] = {
        "as_of": date(2026, 12, 1),
        "scored_at": datetime(2026, 12, 1, tzinfo=UTC),
        "fit_score": 50.0,
        "potential": 1000.0,
        "potential_method": "seats",
        "serviceable": True,
        "tier_score": 50.0,
        "tier": "B",
        "visit_hours": 30.0,
        "call_hours": 10.0,
        "travel_hours": 10.0,
        "workload_hours": 50.0,
        "travel_miles": 20.0,
        "travel_from": "owner",
    }
    for column in SCORE_TABLE_COLUMNS:
        if column != "account_id":
            frame[column] = [defaults.get(column)] * n
    return frame


def make_store(url: str, *, rep_changes: dict[str, dict[str, Any]] | None = None) -> Engine:
    """The store above at ``url`` (``rep_changes``: per rep id, columns to override)."""
    engine = open_store(url)
    people = [{**r, **(rep_changes or {}).get(str(r["id"]), {})} for r in REPS]
    with engine.begin() as conn:
        conn.execute(insert(accounts), [_account(i) for i in range(len(ACCOUNT_IDS))])
        conn.execute(insert(reps), people)
    write_scores(engine, scores=_scores())
    return engine
