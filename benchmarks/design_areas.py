"""Territories made of areas: a sample book on counties (heavy ones split), contiguous.

Usage::

    .venv/bin/python benchmarks/design_areas.py                       # 10k accounts / 40
    .venv/bin/python benchmarks/design_areas.py --accounts 100000 --territories 200

Target (issue 14): 100k accounts into 200 territories, ±5% on potential and workload,
under 60 s, every territory contiguous on real county borders.

The book comes from the sample generator (``territorial.sample.generate_company``:
accounts at real US places, population-weighted). Measures:

* ``potential``: seat potential (``territorial.scoring.potential.seat_potential``,
  default configuration) with seats capped at ``--max-seats`` (200): uncapped, the
  sample's largest account alone is worth 344 average accounts, more than a
  territory at these sizes, which no plan can balance at ±5% (the engine's
  feasibility check says so and stops);
* ``workload``: hours per year, ``4 + 8 log10(max(revenue, 1e5) / 1e5)`` (as in
  ``benchmarks/design_sales.py``).

Units: :func:`territorial.design.areas.county_units` (every county of every state with
accounts; a county above ``--split-share`` of a territory's mean is split). Centres
are free (chosen by the solver). The figures printed: unit build time, design time,
balance, how many territories are in one piece on real borders, and how many are in
one piece on each land mass they touch with those pieces joined by island links
(``territorial.design.areas.Contiguity``: a land mass lighter than a territory, such
as Hawaii, Nantucket or Manhattan, must join a territory over water), how many need
such a link (``across_water``) and how many are in several pieces on one land mass
(``broken``); the solver's first plan (``construction``), the seconds its bisection
took and whether the time limit stopped it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import numpy as np


def book(accounts: int, seed: int, max_seats: float):  # type: ignore[no-untyped-def]
    from territorial.sample.generate import generate_company
    from territorial.scoring import load_config
    from territorial.scoring.potential import seat_potential

    company = generate_company(accounts=accounts, reps=10, seed=seed, years=1, leads=False)
    a = company.accounts.copy()
    config = dataclasses.replace(load_config(None).potential, max_seats=max_seats)
    a["potential"] = seat_potential(a, config).potential
    revenue = a["annual_revenue"].fillna(1e5).to_numpy(dtype=float)
    a["workload"] = 4.0 + 8.0 * np.log10(np.maximum(revenue, 1e5) / 1e5)
    return a.dropna(subset=["latitude", "longitude"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--territories", type=int, default=40)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--split-share", type=float, default=0.05)
    parser.add_argument("--max-seats", type=float, default=200.0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--no-empty", action="store_true", help="leave out counties without accounts"
    )
    args = parser.parse_args()

    from territorial.design.areas import county_units
    from territorial.design.engine import design
    from territorial.design.problem import Balance, DesignProblem

    t0 = time.monotonic()
    accounts = book(args.accounts, args.seed, args.max_seats)
    t_book = time.monotonic() - t0

    t0 = time.monotonic()
    areas = county_units(
        accounts,
        measures=["potential", "workload"],
        n_territories=args.territories,
        split_share=args.split_share,
        empty_counties=not args.no_empty,
    )
    t_units = time.monotonic() - t0
    u = areas.units
    problem = DesignProblem(
        unit_ids=u["id"].to_numpy(),
        coords=u[["lat", "lon"]].to_numpy(),
        measures=u[["potential", "workload"]].to_numpy(),
        measure_names=("potential", "workload"),
        n_territories=args.territories,
        balance=(Balance("potential", args.tolerance), Balance("workload", args.tolerance)),
        objective="inertia",
        weight="workload",
        coord_kind="latlon",
        edges=areas.edges,
        edge_lengths=areas.edge_lengths,
        contiguity=True,
    )
    t0 = time.monotonic()
    result = design(problem, time_limit=args.time_limit, seed=args.seed, strict=False)
    t_design = time.monotonic() - t0
    report = result.to_report_dict()
    assignment = result.plan.assignment
    contiguity = areas.contiguity(assignment)
    stats = result.stats
    row = {
        "accounts": len(accounts),
        "territories": args.territories,
        "units": areas.n_units,
        "split_units": int(u["id"].str.contains("-p").sum()),
        "island_links": int(areas.links.sum()),
        "book_s": round(t_book, 1),
        "units_s": round(t_units, 1),
        "design_s": round(t_design, 1),
        "time_limit_s": args.time_limit,
        "solver": report.get("solver", {}).get("name"),
        "feasible": bool(result.feasible),
        "worst_deviation": {
            m: round(float(e["worst_deviation"]), 4) for m, e in report["balance"].items()
        },
        "contiguous_real_borders": contiguity.contiguous_real_borders,
        "contiguous_with_island_links": contiguity.contiguous_with_island_links,
        "across_water": len(contiguity.across_water),
        "broken": len(contiguity.broken),
        "construction": stats.get("construction"),
        "bisection_s": round(float(stats.get("bisection_seconds", 0.0)), 1),
        "hit_time_limit": stats.get("hit_time_limit"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(row))
        return
    width = max(len(k) for k in row)
    for key, value in row.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
