"""Capacitated p-median benchmark: free centres, a capacity per territory, published optima.

Usage::

    .venv/bin/python benchmarks/design_cpmp.py                      # the four public instances
    .venv/bin/python benchmarks/design_cpmp.py --generated 4461:100 4461:600 4461:1000
    .venv/bin/python benchmarks/design_cpmp.py --time-limit 60 --out benchmarks/results/cpmp.txt
    .venv/bin/python benchmarks/design_cpmp.py --instances lin318_040 --seed 1 --stats

Public instances (``/work/shared/benchmarks/cpmp``, or ``CPMP_DATA``; see its README):
SJC1, SJC2 (Lorena & Senne), lin318_040, u724_010 (Stefanello, de Araújo & Müller 2015),
all with proven optima. Each territory's total ``demand`` at most the capacity, objective
``median`` with weight ``one`` (unweighted Euclidean distance to the territory's median
unit). The run is the library call behind ``territorial design units.csv --territories P
--max demand=CAPACITY --objective median --weight one --time-limit 60 --out plan.csv``.

``--generated N:P`` adds instances of the published families' size (fnl4461 has 4,461
units and p up to 1,000) drawn here: points from a mixture of 40 Gaussian clusters plus
20% uniform noise on a 10,000 x 10,000 square, demands uniform in 1..100, capacity
``ceil(total demand / (0.8 p))`` as in Stefanello et al.'s generator (seeded, so the same
instance every run). They have no published optimum: the table gives the gap to our own
valid lower bound.

Every plan is checked here, independently of the solver: every unit in one territory,
every territory's demand within the capacity, and the objective recomputed from the
coordinates with each territory's best median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(os.environ.get("CPMP_DATA", "/work/shared/benchmarks/cpmp"))
PUBLIC = ("SJC1", "SJC2", "lin318_040", "u724_010")


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cores: {os.cpu_count()} (shared)  CPU: {cpu}  Python {platform.python_version()}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def public_instance(name: str) -> tuple[pd.DataFrame, int, float, float | None]:
    units = pd.read_csv(DATA / name / "units.csv", dtype={"id": str})
    meta = json.loads((DATA / name / "meta.json").read_text())
    return units, int(meta["p"]), float(meta["capacity"]), float(meta["best"])


def generated_instance(n: int, p: int, seed: int = 0) -> tuple[pd.DataFrame, int, float, None]:
    rng = np.random.default_rng(seed * 1_000_003 + n * 7 + p)
    centres = rng.uniform(0, 10_000, size=(40, 2))
    spread = rng.uniform(150, 900, size=40)
    k = rng.integers(0, 40, size=n)
    pts = centres[k] + rng.normal(size=(n, 2)) * spread[k, None]
    noise = rng.random(n) < 0.2
    pts[noise] = rng.uniform(0, 10_000, size=(int(noise.sum()), 2))
    demand = rng.integers(1, 101, size=n).astype(float)
    cap = float(np.ceil(demand.sum() / (0.8 * p)))
    units = pd.DataFrame(
        {"id": [f"g{i}" for i in range(n)], "x": pts[:, 0], "y": pts[:, 1], "demand": demand}
    )
    units["one"] = 1.0
    return units, p, cap, None


def problem_of(units: pd.DataFrame, p: int, cap: float):  # type: ignore[no-untyped-def]
    from territorial.design.problem import DesignProblem, Limit

    return DesignProblem(
        unit_ids=units["id"].to_numpy(),
        coords=units[["x", "y"]].to_numpy(dtype=float),
        measures=units[["demand", "one"]].to_numpy(dtype=float),
        measure_names=("demand", "one"),
        n_territories=p,
        objective="median",
        weight="one",
        coord_kind="xy",
        limits=(Limit("demand", upper=cap),),
    )


def check(units: pd.DataFrame, assign: np.ndarray, p: int, cap: float) -> tuple[float, bool]:
    """Objective with each territory's best median, recomputed; whether capacity holds."""
    pts = units[["x", "y"]].to_numpy(dtype=float)
    demand = units["demand"].to_numpy(dtype=float)
    ok = assign.min() >= 0 and assign.max() < p
    load = np.bincount(assign, weights=demand, minlength=p)
    ok = bool(ok and (load <= cap + 1e-9).all())
    total = 0.0
    for t in range(p):
        members = np.flatnonzero(assign == t)
        if len(members) == 0:
            continue
        sub = pts[members]
        d = np.sqrt(((sub[:, None, :] - sub[None, :, :]) ** 2).sum(-1))
        total += float(d.sum(axis=0).min())
    return total, ok


def _short(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def warm_up() -> None:
    """Compile (or load from the cache) the numba kernels before any clock starts."""
    from territorial.design import design

    units, p, cap, _ = generated_instance(60, 4)
    design(problem_of(units, p, cap), solver="free-centres", time_limit=10, strict=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", nargs="*", default=list(PUBLIC))
    parser.add_argument("--generated", nargs="*", default=[], help="N:P instances to draw")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--stats", action="store_true", help="print the solver's statistics under each row"
    )
    args = parser.parse_args()
    from territorial.design import design

    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    warm_up()
    say(machine())
    say(f"time limit {args.time_limit:.0f} s per instance, seed {args.seed}, solver auto")
    say(
        f"{'instance':<14} {'n':>5} {'p':>5} {'capacity':>9} {'objective':>13} "
        f"{'published':>13} {'ratio':>8} {'bound':>13} {'gap':>7} {'ok':>3} {'proven':>6} "
        f"{'sec':>6} {'load avg':>15}  solver"
    )
    cases: list[tuple[str, tuple[pd.DataFrame, int, float, float | None]]] = [
        (name, public_instance(name)) for name in args.instances
    ]
    for spec in args.generated:
        n, p = (int(x) for x in spec.split(":"))
        cases.append((f"gen{n}_{p:04d}", generated_instance(n, p, args.seed)))
    for name, (units, p, cap, best) in cases:
        problem = problem_of(units, p, cap)
        t0 = time.monotonic()
        result = design(problem, time_limit=args.time_limit, seed=args.seed, strict=False)
        sec = time.monotonic() - t0
        objective, ok = check(units, result.assignment, p, cap)
        bound = result.lower_bound
        ratio = f"{objective / best:.5f}" if best else "-"
        gap = f"{(objective - bound) / objective:.3%}" if bound is not None else "-"
        say(
            f"{name:<14} {len(units):>5} {p:>5} {cap:>9.0f} {objective:>13.2f} "
            f"{(f'{best:.2f}' if best else '-'):>13} {ratio:>8} "
            f"{(f'{bound:.2f}' if bound is not None else '-'):>13} {gap:>7} "
            f"{'yes' if ok else 'NO':>3} {'yes' if result.proven_optimal else 'no':>6} "
            f"{sec:>6.1f} {load_average():>15}  {result.solver}"
        )
        if args.stats:
            print("    " + ", ".join(f"{k}={_short(v)}" for k, v in result.stats.items()))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
