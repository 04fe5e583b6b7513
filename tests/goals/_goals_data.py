"""The hand-drawn company of the goals tests: two reps under one manager, four accounts,
eight opportunities and eight activities in early 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

#: Two reps under manager M1; four accounts; opportunities and activities in 2026.
REPS = [
    {"id": "M1", "name": "Mona Manager", "active": True, "manager_id": None},
    {"id": "R1", "name": "Ann One", "active": True, "manager_id": "M1", "capacity_hours": 40.0},
    {
        "id": "R2",
        "name": "Bob Two",
        "active": True,
        "manager_id": "M1",
        "capacity_hours": 40.0,
        "start_date": date(2026, 7, 1),
    },
]
ACCOUNTS = [
    {
        "id": "A1",
        "latitude": 34.05,
        "longitude": -118.24,
        "name": "Acme",
        "owner_id": "R1",
        "segment": "SMB",
        "state": "CA",
        "industry": "Retail",
    },
    {
        "id": "A2",
        "latitude": 40.71,
        "longitude": -74.0,
        "name": "Beta",
        "owner_id": "R1",
        "segment": "Enterprise",
        "state": "NY",
        "industry": "Tech",
    },
    {
        "id": "A3",
        "latitude": 37.77,
        "longitude": -122.42,
        "name": "Gamma",
        "owner_id": "R2",
        "segment": "SMB",
        "state": "CA",
        "industry": "Tech",
    },
    {
        "id": "A4",
        "latitude": 29.76,
        "longitude": -95.37,
        "name": "Delta",
        "owner_id": "R2",
        "segment": "Mid-Market",
        "state": "TX",
        "industry": "Retail",
    },
]
# (id, account, owner, amount, created, close, closed, won)
OPPS = [
    ("O1", "A1", "R1", 1000.10, date(2026, 1, 5), date(2026, 2, 10), True, True),
    ("O2", "A1", "R1", 2500.25, date(2026, 1, 20), date(2026, 2, 28), True, False),
    ("O3", "A2", "R1", 7000.00, date(2025, 11, 1), date(2026, 3, 31), True, True),
    ("O4", "A2", "R1", 4000.00, date(2026, 3, 1), date(2026, 6, 30), False, False),
    ("O5", "A3", "R2", 3333.33, date(2026, 2, 2), date(2026, 2, 27), True, True),
    ("O6", "A4", "R2", 1500.00, date(2026, 2, 15), date(2026, 4, 2), True, False),
    ("O7", "A4", "R1", 900.99, date(2026, 3, 30), date(2026, 4, 1), True, True),
    ("O8", "A3", "R2", 5000.00, date(2025, 6, 1), date(2025, 12, 15), True, True),
]
# (id, account, rep, channel, when)
ACTIVITIES = [
    ("T1", "A1", "R1", "call", datetime(2026, 1, 6, 10)),
    ("T2", "A1", "R1", "email", datetime(2026, 1, 7, 10)),
    ("T3", "A2", "R1", "visit", datetime(2026, 2, 3, 9)),
    ("T4", "A3", "R2", "call", datetime(2026, 2, 4, 9)),
    ("T5", "A3", "R2", "meeting", datetime(2026, 2, 5, 9)),
    ("T6", "A4", "R2", "call", datetime(2026, 3, 9, 9)),
    ("T7", "A2", "R2", "email", datetime(2026, 3, 10, 9)),
    ("T8", "A1", "R1", "call", datetime(2026, 3, 31, 17)),
]
# potential, propensity, tier
SCORES = {
    "A1": (10_000.0, 0.5, "A"),
    "A2": (30_000.0, 0.2, "A"),
    "A3": (20_000.0, 0.1, "B"),
    "A4": (40_000.0, 0.25, "A"),
}


def add_plan(engine: Engine, *, status: str = "draft") -> int:
    """A plan with two territories: North (A1, A2) for R2 and South (A3, A4) for R1."""
    from sqlalchemy import insert

    from territorial.store.planning import plan_members, plan_territories
    from territorial.store.tables import plan_assignments, plans

    with engine.begin() as conn:
        plan_id = conn.execute(
            insert(plans)
            .values(name="FY26", created_at=datetime(2026, 1, 1, tzinfo=UTC), status=status)
            .returning(plans.c.id)
        ).scalar_one()
        conn.execute(
            insert(plan_territories),
            [
                {"plan_id": plan_id, "territory_id": "N", "name": "North"},
                {"plan_id": plan_id, "territory_id": "S", "name": "South"},
            ],
        )
        conn.execute(
            insert(plan_members),
            [
                {"plan_id": plan_id, "territory_id": "N", "rep_id": "R2", "role": "owner"},
                {"plan_id": plan_id, "territory_id": "S", "rep_id": "R1", "role": "owner"},
            ],
        )
        conn.execute(
            insert(plan_assignments),
            [
                {"plan_id": plan_id, "account_id": a, "territory_id": t, "locked": False}
                for a, t in (("A1", "N"), ("A2", "N"), ("A3", "S"), ("A4", "S"))
            ],
        )
    return int(plan_id)
