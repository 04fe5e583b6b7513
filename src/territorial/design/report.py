"""What a design run reports: the REPORT.json content and the summary table rows."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from territorial.design.engine import DesignResult


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(x)


def report_dict(result: DesignResult) -> dict[str, Any]:
    """Plain-JSON description of a design result.

    Keys: ``objective`` (name, value, unit), ``lower_bound``, ``gap``, ``balance`` (per
    measure: tolerance, worst deviation), ``territories`` (per territory: id, units,
    totals of every measure, deviation of every balanced measure, contiguous, center),
    ``moved``, ``feasible``, ``violations``, ``method``, ``solver`` (name, the reason it
    was chosen, path, options, fallbacks, timings, work), ``seed``, ``seconds``.
    """
    p = result.problem
    k = p.n_territories
    sizes = result.plan.sizes()
    territories = []
    for j in range(k):
        entry: dict[str, Any] = {
            "id": p.territory_ids[j],
            "units": int(sizes[j]),
            "totals": {name: float(result.totals[j, m]) for m, name in enumerate(p.measure_names)},
            "deviation": {
                b.measure: float(result.deviations[j, i]) for i, b in enumerate(p.balance)
            },
        }
        if result.contiguous is not None:
            entry["contiguous"] = bool(result.contiguous[j])
        if result.center_units is not None and result.center_units[j] >= 0:
            entry["center"] = str(p.unit_ids[result.center_units[j]])
        if p.segments is not None and p.territory_segments is not None:
            entry["segment"] = p.segment_label(int(p.territory_segments[j]))
        territories.append(entry)
    balance = {
        b.measure: {
            "tolerance": b.tolerance,
            "worst_deviation": float(abs(result.deviations[:, i]).max()) if k else 0.0,
        }
        for i, b in enumerate(p.balance)
    }
    return {
        "objective": {
            "name": p.objective,
            "value": _num(result.objective),
            "unit": p.objective_unit,
        },
        "lower_bound": _num(result.lower_bound),
        "gap": _num(result.gap),
        "proven_optimal": result.proven_optimal,
        # free centers only: LP bound for the centers the plan uses (assignment quality,
        # not a bound on the design problem)
        "bound_at_centers": _num(result.bound_at_centers),
        "balance": balance,
        "worst_deviation": result.worst_deviation,
        "contiguous": None if result.contiguous is None else bool(result.contiguous.all()),
        "moved": {
            "units": int(result.moved.get("units", 0)),
            "measures": {k_: v for k_, v in result.moved.items() if k_ != "units"},
            "max_moves": p.max_moves,
            # realignment under a budget: moved units whose new territory is not among
            # their nearest (sent to a remote territory to keep balance within the budget)
            "remote_units": result.remote_moves,
        },
        "feasible": result.feasible,
        "violations": list(result.violations),
        "method": result.method,
        "solver": {
            "name": result.solver,
            "reason": result.solver_reason,
            "path": result.method,
            "options": result.solver_options,
            "fallbacks": list(result.fallbacks),
            "timings": {name: round(s, 3) for name, s in result.timings.items()},
            "work": round(result.work, 3),
            "work_limit": result.work_limit,
            "deterministic": result.deterministic,
        },
        "weight": p.weight,
        "seed": result.seed,
        "seconds": round(result.seconds, 3),
        "units": p.n_units,
        "territory_count": k,
        "territories": territories,
    }


def summary_rows(result: DesignResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-territory summary table (strings, ready to print)."""
    p = result.problem
    header = ["territory", "units"]
    header += [name for name in p.measure_names]
    header += [f"{b.measure} dev" for b in p.balance]
    if result.contiguous is not None:
        header.append("contiguous")
    sizes = result.plan.sizes()
    rows = []
    for j in range(p.n_territories):
        row = [p.territory_ids[j], f"{sizes[j]:,}"]
        row += [f"{result.totals[j, m]:,.0f}" for m in range(len(p.measure_names))]
        row += [f"{result.deviations[j, i]:+.2%}" for i in range(len(p.balance))]
        if result.contiguous is not None:
            row.append("yes" if result.contiguous[j] else "NO")
        rows.append(row)
    return header, rows
