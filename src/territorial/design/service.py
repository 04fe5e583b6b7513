"""Design from the store, as one library call and as a job run by a worker.

:func:`design_from_store` is what ``territorial design --from-store``, the API's
``POST /api/design-jobs`` (through :func:`run_design_job`) and the workspace's design
form run: build the problem with :func:`territorial.design.adapters.build_store_problem`,
run :func:`territorial.design.engine.design`, explain every assignment and, with
``save_as``, store the plan as a **draft** version (:func:`territorial.store.plans.save_plan`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from territorial.design.adapters import StoreDesignOptions, StoreProblem, build_store_problem

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from territorial.design.engine import DesignResult

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class StoreDesign:
    """What :func:`design_from_store` made.

    ``plan_id`` is the saved draft's id (``None`` without ``save_as``); ``warnings`` are
    the data warnings raised while building and solving (accounts without a location...).
    """

    options: StoreDesignOptions
    built: StoreProblem
    result: DesignResult
    plan_id: int | None
    warnings: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        return self.built.notes

    def summary(self) -> dict[str, Any]:
        """Plain values for a job's result and the workspace."""
        r = self.result
        return {
            "plan_id": self.plan_id,
            "territories": r.problem.n_territories,
            "units": r.problem.n_units,
            "feasible": bool(r.feasible),
            "violations": list(r.violations),
            "worst_deviation": float(r.worst_deviation),
            "moved": int(r.moved.get("units", 0)),
            "solver": r.solver,
            "weight": self.built.weight,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }


def parameters_of(options: StoreDesignOptions, built: StoreProblem) -> dict[str, Any]:
    """The plan's stored ``parameters``: every option as given (so the run can be
    repeated), the weight used and the builder's notes."""
    params = options.model_dump(mode="json", exclude={"current", "locked", "allowed"})
    for name in ("current", "locked", "allowed"):
        pairs = getattr(options, name)
        if pairs is not None:
            params[f"{name}_pairs"] = len(pairs)
    params["weight_used"] = built.weight
    params["notes"] = list(built.notes)
    params["source"] = "store"
    return params


def design_from_store(
    engine: Engine,
    options: StoreDesignOptions | Mapping[str, Any],
    *,
    save_as: str | None = None,
    created_by: str | None = None,
    progress: Progress | None = None,
    territory_roles: tuple[str, ...] | None = None,
) -> StoreDesign:
    """Design territories from the store's accounts and reps with ``options`` and, with
    ``save_as``, save the plan as a draft (parent: the current plan it started from).

    Raises ``InfeasibleError`` when no plan meets every constraint (unless
    ``options.best_effort``: then the least-violating plan is kept, ``feasible=False``).
    """
    from territorial.design.engine import design

    if not isinstance(options, StoreDesignOptions):
        options = StoreDesignOptions.parse(options)
    if save_as is not None and not save_as.strip():
        from territorial.errors import ConfigError

        raise ConfigError("a plan needs a name (--save-as NAME)")
    report = progress or (lambda _f, _m: None)
    report(0.0, "reading accounts and reps")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build_store_problem(engine, options, territory_roles=territory_roles)
        problem = built.problem
        report(
            0.05,
            f"{problem.n_units:,} units, {problem.n_territories} territories; "
            f"weight {built.weight or 'none (1 per unit)'}",
        )

        def solver_progress(fraction: float, message: str) -> None:
            report(0.05 + 0.85 * fraction, message)

        result = design(
            problem,
            solver=options.solver,
            time_limit=options.time_limit,
            work_limit=options.work_limit,
            seed=options.seed,
            progress=solver_progress,
            strict=not options.best_effort,
        )
    from dataclasses import replace

    from territorial.design.explain import assignment_reasons

    reasons = assignment_reasons(result, restricted=built.restricted)
    result = replace(result, reasons=tuple(reasons))
    messages = tuple(dict.fromkeys(str(w.message) for w in caught))
    plan_id = None
    if save_as is not None:
        from territorial.store.plans import save_plan

        report(0.92, "saving the plan as a draft")
        plan_id = save_plan(
            engine,
            name=save_as.strip(),
            result=result,
            parameters=parameters_of(options, built),
            parent_id=built.current_plan_id,
            created_by=created_by,
            account_units=built.account_units,
        )
        log.info("design from the store saved plan %s (%s)", plan_id, save_as)
    report(1.0, "done" if plan_id is None else f"saved plan {plan_id}")
    return StoreDesign(options, built, result, plan_id, messages)


def run_design_job(
    engine: Engine, payload: Mapping[str, Any], progress: Progress
) -> dict[str, Any]:
    """The worker's handler for ``design`` jobs (see :mod:`territorial.planning.jobs`).

    ``payload``: ``options`` (the fields of :class:`StoreDesignOptions`), ``save_as``
    (the draft's name) and ``created_by``. Returns the job's result: the new plan's id
    and its summary.
    """
    options = StoreDesignOptions.parse(payload.get("options") or {})
    save_as = str(payload.get("save_as") or "").strip()
    if not save_as:
        from territorial.errors import ConfigError

        raise ConfigError("a design job needs save_as, the name of the plan it saves")
    done = design_from_store(
        engine,
        options,
        save_as=save_as,
        created_by=payload.get("created_by"),
        progress=progress,
    )
    return done.summary()


__all__ = ["StoreDesign", "design_from_store", "parameters_of", "run_design_job"]
