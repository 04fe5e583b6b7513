"""A small seeded company and users of every role, for the workspace tests and scripts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from fastapi import FastAPI
from sqlalchemy import Engine, func, insert, select

from territorial.store.tables import accounts, imports, opportunities, reps
from territorial.web import auth

PASSWORD = "correct horse battery"
#: Rep home bases (lat, lon): ten US metros; two managers lead five reps each.
HOMES = [
    ("R01", "Ana Ortiz", "Seattle", 47.61, -122.33),
    ("R02", "Ben Li", "San Francisco", 37.77, -122.42),
    ("R03", "Cora Diaz", "Los Angeles", 34.05, -118.24),
    ("R04", "Dev Patel", "Denver", 39.74, -104.99),
    ("R05", "Eli Stone", "Dallas", 32.78, -96.80),
    ("R06", "Fay Wong", "Chicago", 41.88, -87.63),
    ("R07", "Gus Hale", "Atlanta", 33.75, -84.39),
    ("R08", "Hana Kim", "Miami", 25.76, -80.19),
    ("R09", "Ivo Reyes", "New York", 40.71, -74.01),
    ("R10", "Jo Park", "Boston", 42.36, -71.06),
]


def seed_company(engine: Engine, *, n_accounts: int = 500, seed: int = 7) -> None:
    """Accounts scattered around the reps' cities, owned by the nearest rep (mostly)."""
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        conn.execute(
            insert(imports).values(
                id=1,
                started_at=datetime.now(UTC),
                source="test",
                status="succeeded",
                counts={},
                warnings=[],
            )
        )
        conn.execute(
            insert(reps),
            [
                {
                    "id": rid,
                    "name": name,
                    "email": f"{rid.lower()}@example.com",
                    "role": "AE",
                    "home_city": city,
                    "home_latitude": lat,
                    "home_longitude": lon,
                    "active": True,
                    "capacity_hours": 1600.0,
                    "manager_id": "M1" if i < 5 else "M2",
                    "import_id": 1,
                }
                for i, (rid, name, city, lat, lon) in enumerate(HOMES)
            ],
        )
        rows, opps = [], []
        for i in range(n_accounts):
            home = int(rng.integers(len(HOMES)))
            rid, _, city, lat, lon = HOMES[home]
            owner = rid if rng.random() < 0.85 else HOMES[int(rng.integers(len(HOMES)))][0]
            rows.append(
                {
                    "id": f"A{i:04d}",
                    "name": f"Company {i:04d}",
                    "city": city,
                    "state": "XX",
                    "country": "US",
                    "latitude": lat + rng.normal(0, 1.5),
                    "longitude": lon + rng.normal(0, 2.0),
                    "industry": "Software",
                    "employees": int(rng.integers(10, 5000)),
                    "annual_revenue": float(rng.lognormal(16, 1)),
                    "segment": "SMB",
                    "owner_id": owner,
                    "import_id": 1,
                }
            )
            if rng.random() < 0.3:
                opps.append(
                    {
                        "id": f"O{i:04d}",
                        "account_id": f"A{i:04d}",
                        "amount": 50_000.0,
                        "currency": "USD",
                        "stage": "Proposal",
                        "created_date": date(2026, 1, 5),
                        "is_closed": False,
                        "is_won": False,
                        "import_id": 1,
                    }
                )
        conn.execute(insert(accounts), rows)
        conn.execute(insert(opportunities), opps)


#: Bookings to date over the quota to date wanted per rep of :func:`seed_company`:
#: R01 far behind, R10 ahead (the colour-by-attainment classes each get someone).
PACES = {"R01": 0.4, "R02": 0.6, "R03": 0.75, "R04": 0.8, "R05": 0.9}
PACES |= {"R06": 0.95, "R07": 1.05, "R08": 1.1, "R09": 1.25, "R10": 1.4}


def seed_performance(engine: Engine, *, target: float = 10_000_000.0) -> int:
    """Scores, this fiscal year's quotas on the active plan and one won deal per rep so
    that their pace to date is about :data:`PACES` (needs :func:`seed_company` and an
    active plan). Returns the quota set's id."""
    import pandas as pd

    from territorial.goals.quotas import plan_quotas, save_quotas
    from territorial.scoring.store_adapter import score_store

    score_store(engine)
    today = date.today()
    result = plan_quotas(engine, target=target, period=f"FY{today.year}")
    quota_set = save_quotas(engine, result=result, name="seeded quotas")
    months = result.monthly.copy()
    close = today - timedelta(days=min(3, today.timetuple().tm_yday - 1))
    # the quota phased to the close day: whole months before it, a share of its month
    month = pd.to_datetime(months["month"] + "-01").dt.date
    share = [
        1.0
        if m.year * 12 + m.month < close.year * 12 + close.month
        else close.day / 30.5
        if (m.year, m.month) == (close.year, close.month)
        else 0.0
        for m in month
    ]
    months["to_date"] = months["quota"] * share
    to_date = months.groupby("territory")["to_date"].sum()
    with engine.begin() as conn:
        firsts = dict(
            conn.execute(
                select(accounts.c.owner_id, func.min(accounts.c.id)).group_by(accounts.c.owner_id)
            ).all()
        )
        conn.execute(
            insert(opportunities),
            [
                {
                    "id": f"W{rid}",
                    "account_id": firsts[rid],
                    "owner_id": rid,
                    "amount": round(pace * float(to_date.get(rid, 0.0)), 2),
                    "currency": "USD",
                    "stage": "Closed Won",
                    "created_date": date(today.year, 1, 1),
                    "close_date": close,
                    "is_closed": True,
                    "is_won": True,
                    "import_id": 1,
                }
                for rid, pace in PACES.items()
                if rid in firsts
            ],
        )
    return quota_set


def seed_users(engine: Engine) -> None:
    for email, role, rep_id in [
        ("admin@example.com", "admin", None),
        ("planner@example.com", "planner", None),
        ("manager@example.com", "manager", "M1"),
        ("ana@example.com", "rep", "R01"),
        ("ben@example.com", "rep", "R02"),
    ]:
        auth.add_user(engine, email=email, role=role, password=PASSWORD, rep_id=rep_id)


def make_app(engine: Engine) -> FastAPI:
    """The workspace router on a bare app (H5's create_app includes it the same way)."""
    try:
        from territorial.api.app import create_app
    except ImportError:
        app = FastAPI()
        from territorial.web.routes import router

        app.include_router(router)
        app.state.engine = engine
        return app
    return create_app(engine=engine)


def load_generated_sample(engine: Engine, *, accounts: int, reps: int, seed: int = 0) -> None:
    """Generate the sample company (H2's generator) and write it straight into the store.

    PLACEHOLDER for ``territorial import`` (H1): only the core columns are written.
    """
    from territorial.sample.generate import generate_tables
    from territorial.store.tables import ENTITY_TABLES

    tables = generate_tables(accounts=accounts, reps=reps, seed=seed)
    with engine.begin() as conn:
        conn.execute(
            insert(imports).values(
                started_at=datetime.now(UTC),
                source="sample",
                status="succeeded",
                counts={},
                warnings=[],
            )
        )
        for name in ("accounts", "reps", "opportunities", "activities"):
            table = ENTITY_TABLES[name]
            frame = tables[name].to_pandas()
            keep = [c.name for c in table.columns if c.name in frame.columns]
            rows = frame[keep].astype(object).where(frame[keep].notna(), None).to_dict("records")
            for row in rows:
                for key, value in row.items():
                    if hasattr(value, "tolist"):
                        row[key] = value.tolist()
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(table), rows[start : start + 10_000])
