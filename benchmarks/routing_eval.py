"""Re-evaluating a whole book against the territory rules: 1M accounts x 1,000 territories.

Builds a synthetic book (states, 5-digit postal codes, employees, revenue, industry,
coordinates) and a rules file of ``--territories`` territories mixing every kind of
condition (state lists, postal prefixes, employee bands, industry and revenue
overlays with priorities, named-account lists, radius and polygon rules), then times
parsing, compiling and the vectorised evaluation (``CompiledRules.route_frame``).

    .venv/bin/python benchmarks/routing_eval.py                # 1,000,000 x 1,000
    .venv/bin/python benchmarks/routing_eval.py --accounts 100000 --territories 200
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
import yaml

from territorial.routing.conditions import RoutingFrame
from territorial.routing.engine import compile_rules
from territorial.routing.rules import parse_rules

STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]
INDUSTRIES = (
    "Software",
    "Healthcare",
    "Financial Services",
    "Manufacturing",
    "Retail",
    "Education",
    "Government",
    "Energy",
)
BANDS = ((0, 99), (100, 499), (500, 999), (1000, None))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def synthetic_book(n: int, seed: int) -> pd.DataFrame:
    """``n`` accounts; each state owns 20 three-digit postal prefixes."""
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.2, len(STATES)) + 1
    state_idx = rng.choice(len(STATES), size=n, p=weights / weights.sum())
    zip3 = state_idx * 20 + rng.integers(0, 20, n)
    postal = np.char.zfill((zip3 * 100 + rng.integers(0, 100, n)).astype(str), 5)
    lat = 25 + (state_idx % 10) * 2.2 + rng.random(n) * 2
    lon = -123 + (state_idx // 10) * 11 + rng.random(n) * 10
    employees = np.minimum(rng.lognormal(4.0, 1.6, n).astype(np.int64), 500_000)
    return pd.DataFrame(
        {
            "id": np.char.add("ACC-", np.arange(n).astype(str)),
            "state": np.array(STATES, dtype=object)[state_idx],
            "postal_code": postal.astype(object),
            "country": "US",
            "latitude": lat,
            "longitude": lon,
            "industry": np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), n)],
            "employees": employees,
            "annual_revenue": employees * rng.uniform(50_000, 400_000, n),
        }
    )


def synthetic_rules(n_territories: int, book: pd.DataFrame, seed: int) -> str:
    """A rules file of about ``n_territories`` territories (every kind of condition)."""
    rng = np.random.default_rng(seed)
    # 80% state x employee band x postal-prefix group; the rest overlays of 4 kinds.
    splits = max(1, round(0.8 * n_territories / (len(STATES) * len(BANDS))))
    geo = min(n_territories - 4, len(STATES) * len(BANDS) * splits)
    special = n_territories - geo  # named, vertical, metro (radius), zone (polygon)
    regions = []
    count = 0
    for s_i, state in enumerate(STATES):
        territories = []
        prefixes = [f"{s_i * 20 + p:03d}" for p in range(20)]
        groups = np.array_split(np.array(prefixes), splits)
        for b_i, (lo, hi) in enumerate(BANDS):
            for g_i, group in enumerate(groups):
                if count >= geo:
                    break
                band = {"min": lo} if hi is None else {"min": lo, "max": hi}
                territories.append(
                    {
                        "id": f"{state}-{b_i}-{g_i}",
                        "priority": 50,
                        "match": {"employees": band, "postal_code": {"prefix": group.tolist()}},
                        "owner": f"rep-{state}-{b_i}-{g_i}",
                    }
                )
                count += 1
        if territories:
            regions.append({"id": state, "match": {"state": [state]}, "territories": territories})
    ids = book["id"].to_numpy()
    overlay = []
    kinds = 4
    for i in range((special + kinds - 1) // kinds):
        overlay.append(
            {
                "id": f"named-{i}",
                "priority": 90,
                "match": {"accounts": rng.choice(ids, 50, replace=False).tolist()},
                "owner": f"rep-named-{i}",
            }
        )
        overlay.append(
            {
                "id": f"vertical-{i}",
                "priority": 10,
                "match": {
                    "state": rng.choice(STATES, 3, replace=False).tolist(),
                    "industry": [INDUSTRIES[i % len(INDUSTRIES)]],
                    "annual_revenue": {"min": 5e8},
                },
                "owner": f"rep-vertical-{i}",
            }
        )
        lat, lon = float(rng.uniform(27, 45)), float(rng.uniform(-120, -75))
        overlay.append(
            {
                "id": f"metro-{i}",
                "priority": 40,
                "match": {
                    "near": {"latitude": lat, "longitude": lon, "miles": 15},
                    "employees": {"min": 1000},
                },
                "owner": f"rep-metro-{i}",
            }
        )
        overlay.append(
            {
                "id": f"zone-{i}",
                "priority": 45,
                "match": {
                    "polygon": [
                        [lon, lat],
                        [lon + 0.5, lat],
                        [lon + 0.5, lat + 0.4],
                        [lon, lat + 0.4],
                    ],
                    "industry": ["Healthcare"],
                },
                "owner": f"rep-zone-{i}",
            }
        )
    regions.append({"id": "overlays", "territories": overlay[:special]})
    doc = {"version": 1, "name": "benchmark", "regions": regions}
    return yaml.safe_dump(doc, sort_keys=False, width=1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--territories", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    t = time.perf_counter()
    book = synthetic_book(args.accounts, args.seed)
    t_book = time.perf_counter() - t
    text = synthetic_rules(args.territories, book, args.seed)
    t = time.perf_counter()
    rule_set = parse_rules(text, source="benchmark.yaml")
    t_parse = time.perf_counter() - t
    t = time.perf_counter()
    compiled = compile_rules(rule_set)
    t_compile = time.perf_counter() - t
    t, cpu = time.perf_counter(), time.process_time()
    frame = RoutingFrame(book)
    result = compiled.route_frame(frame)
    t_eval, cpu_eval = time.perf_counter() - t, time.process_time() - cpu
    claimed = int(pd.Series(result.territory).notna().sum())
    multi = int((result.n_matched > 1).sum())

    print(
        f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} (wall times suffer when the machine is shared)"
    )
    rows = [
        ("accounts", f"{len(book):,}"),
        ("territories", f"{len(rule_set.territories):,}"),
        ("rules (territory x alternative)", f"{len(compiled.rules):,}"),
        ("rules file", f"{len(text) / 1e6:.1f} MB"),
        ("synthetic book built", f"{t_book:.2f} s"),
        ("parse YAML + validate", f"{t_parse:.2f} s"),
        ("compile (rank + index)", f"{t_compile:.3f} s"),
        ("evaluate whole book (wall)", f"{t_eval:.2f} s"),
        ("evaluate whole book (CPU of this process)", f"{cpu_eval:.2f} s"),
        ("accounts per second", f"{len(book) / t_eval:,.0f}"),
        ("claimed accounts", f"{claimed:,} ({claimed / len(book):.1%})"),
        ("accounts matched by 2+ territories", f"{multi:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
