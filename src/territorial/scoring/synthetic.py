"""A synthetic book with a *known* win model, for tests and benchmarks.

The planted truth: an opportunity's log-odds of being won is

    -1.6 + 2.0 x [industry is Healthcare or Software]
         + 0.9 x meetings in the 30 days before creation

and nothing else (technology, web visits, employees, calls ... are noise). A model
that reads history correctly must rank ``industry`` and ``meetings_30d`` first.
This is not the realistic sample company (``territorial.sample``); it is a controlled
experiment whose answer is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from territorial.domain.model import INDUSTRIES

#: (state, latitude, longitude) of a few state centres used to place accounts and reps.
STATES: tuple[tuple[str, float, float], ...] = (
    ("CA", 36.8, -119.4),
    ("TX", 31.0, -99.9),
    ("NY", 42.9, -75.5),
    ("FL", 27.8, -81.7),
    ("IL", 40.0, -89.2),
    ("WA", 47.4, -120.5),
    ("GA", 32.7, -83.4),
    ("MA", 42.3, -71.8),
    ("CO", 39.0, -105.5),
    ("OH", 40.4, -82.8),
)
TECHNOLOGIES = ("Salesforce", "HubSpot", "Microsoft Dynamics", "Zoho", "Pipedrive")
PLANTED_INTERCEPT = -1.6
PLANTED_INDUSTRIES = ("Healthcare", "Software")
PLANTED_HEALTHCARE = 2.0
PLANTED_MEETING = 0.9


@dataclass(frozen=True, slots=True)
class SyntheticBook:
    """Canonical frames of a synthetic company."""

    accounts: pd.DataFrame
    reps: pd.DataFrame
    opportunities: pd.DataFrame
    activities: pd.DataFrame
    end: pd.Timestamp


def planted_book(
    *,
    accounts: int = 2000,
    reps: int = 20,
    opportunities_per_account: float = 0.5,
    years: float = 3.0,
    seed: int = 0,
    end: str = "2026-06-30",
) -> SyntheticBook:
    """Accounts, reps, opportunities and activities with the planted win model above."""
    rng = np.random.default_rng(seed)
    end_ts = pd.Timestamp(end)
    start_ts = end_ts - pd.Timedelta(days=int(365 * years))
    span = (end_ts - start_ts).days

    state_idx = rng.integers(0, len(STATES), accounts)
    state = np.array([s[0] for s in STATES], dtype=object)[state_idx]
    lat = np.array([s[1] for s in STATES])[state_idx] + rng.normal(0, 1.0, accounts)
    lon = np.array([s[2] for s in STATES])[state_idx] + rng.normal(0, 1.0, accounts)
    employees = np.round(np.exp(rng.normal(5.0, 1.5, accounts))).astype(int) + 1
    rep_ids = np.array([f"R{i:04d}" for i in range(reps)], dtype=object)
    # Rep i lives in state i mod 10; accounts are owned by a rep of their own state.
    rep_state = np.arange(reps) % len(STATES)
    per_state = np.bincount(rep_state, minlength=len(STATES))
    slot = rng.integers(0, np.maximum(per_state[state_idx], 1))
    owner_idx = np.where(
        per_state[state_idx] > 0, state_idx + len(STATES) * slot, rng.integers(0, reps, accounts)
    )
    owner = rep_ids[owner_idx].astype(object)
    owner[rng.random(accounts) < 0.2] = None
    zip3 = rng.integers(100, 999, accounts).astype(str)
    account_frame = pd.DataFrame(
        {
            "id": np.char.add("A", np.char.zfill(np.arange(accounts).astype(str), 7)).astype(
                object
            ),
            "name": np.char.add("Company ", np.arange(accounts).astype(str)).astype(object),
            "state": state,
            "postal_code": np.char.add(zip3, "01").astype(object),
            "country": "US",
            "latitude": lat,
            "longitude": lon,
            "industry": np.array(INDUSTRIES, dtype=object)[
                rng.integers(0, len(INDUSTRIES), accounts)
            ],
            "employees": employees,
            "annual_revenue": employees * np.exp(rng.normal(np.log(150_000), 0.5, accounts)),
            "owner_id": owner,
            "technology": np.array(TECHNOLOGIES, dtype=object)[
                rng.integers(0, len(TECHNOLOGIES), accounts)
            ],
            "web_visits_30d": rng.poisson(3, accounts),
            "hiring": rng.random(accounts) < 0.3,
        }
    )
    rep_frame = pd.DataFrame(
        {
            "id": rep_ids,
            "name": [f"Rep {i}" for i in range(reps)],
            "home_latitude": np.array([s[1] for s in STATES])[rep_state] + rng.normal(0, 0.5, reps),
            "home_longitude": np.array([s[2] for s in STATES])[rep_state]
            + rng.normal(0, 0.5, reps),
            "capacity_hours": 40.0,
            "active": True,
        }
    )

    # Opportunities: created uniformly over the window, closed 20-120 days later.
    n_opp = int(accounts * opportunities_per_account)
    opp_account = rng.integers(0, accounts, n_opp)
    created = start_ts + pd.to_timedelta(rng.integers(40, span - 30, n_opp), unit="D")
    close = created + pd.to_timedelta(rng.integers(20, 120, n_opp), unit="D")
    meetings = rng.poisson(1.0, n_opp)
    healthcare = np.isin(account_frame["industry"].to_numpy()[opp_account], PLANTED_INDUSTRIES)
    logit = PLANTED_INTERCEPT + PLANTED_HEALTHCARE * healthcare + PLANTED_MEETING * meetings
    won = rng.random(n_opp) < 1.0 / (1.0 + np.exp(-logit))
    closed = close < end_ts
    opp_frame = pd.DataFrame(
        {
            "id": np.char.add("O", np.arange(n_opp).astype(str)).astype(object),
            "account_id": account_frame["id"].to_numpy()[opp_account],
            "amount": np.round(employees[opp_account] * rng.uniform(200, 800, n_opp), 2),
            "created_date": created,
            "close_date": close,
            "is_closed": closed,
            "is_won": won & closed,
            "stage": np.where(closed, np.where(won, "Closed Won", "Closed Lost"), "Negotiation"),
        }
    )

    # Planted meetings: in the 29 days before each opportunity's creation.
    which = np.repeat(np.arange(n_opp), meetings)
    planted = pd.DataFrame(
        {
            "account_id": opp_frame["account_id"].to_numpy()[which],
            "channel": "meeting",
            "occurred_at": created[which]
            - pd.to_timedelta(rng.integers(1, 29, len(which)), unit="D"),
        }
    )
    # Background noise: calls and e-mails at random over the window (no link to outcomes).
    n_noise = accounts * 2
    noise = pd.DataFrame(
        {
            "account_id": account_frame["id"].to_numpy()[rng.integers(0, accounts, n_noise)],
            "channel": np.array(["call", "email"], dtype=object)[rng.integers(0, 2, n_noise)],
            "occurred_at": start_ts + pd.to_timedelta(rng.integers(0, span, n_noise), unit="D"),
        }
    )
    activities = pd.concat([planted, noise], ignore_index=True)
    activities.insert(
        0, "id", np.char.add("X", np.arange(len(activities)).astype(str)).astype(object)
    )
    activities["duration_minutes"] = 30.0
    return SyntheticBook(
        accounts=account_frame,
        reps=rep_frame,
        opportunities=opp_frame,
        activities=activities,
        end=end_ts,
    )
