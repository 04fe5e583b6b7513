"""Solvers as named parts: the registry, what a solver is given, and how ``auto`` chooses.

A solver is a class with a ``name``, a typed options dataclass and a ``solve`` method
(:class:`Solver`). Registered solvers are listed by :func:`solver_names`; the
engine (:func:`territorial.design.design`) runs the one the caller names, or the one
:func:`choose_solver` picks for ``solver="auto"``, and reports which one ran and why.

Adding a solver
---------------
Write one class in a module of ``territorial.design`` and decorate it with
:func:`register`; add the module to :data:`SOLVER_MODULES` so the registry imports it::

    @dataclass(frozen=True, slots=True)
    class MyOptions:
        candidates: int = 12          # every tuning knob, with its default and unit

    @register
    class MySolver(Solver[MyOptions]):
        name = "my-solver"
        summary = "one line for the docs and the CLI"
        options_type = MyOptions
        auto_priority = 35            # where ``auto`` considers it (lower first)

        @classmethod
        def refuses(cls, problem):    # why it cannot solve ``problem`` (None: it can)
            ...

        @classmethod
        def auto_reason(cls, problem):  # why ``auto`` should pick it (None: not its case)
            ...

        def solve(self, problem, run):  # -> SolverOutcome
            ...

``solve`` reads the clock (``run.clock.now()``, never ``time.monotonic()``) for every
stopping decision and charges the work it does (``run.clock.charge``), so the same
code runs against wall time or, in deterministic mode, against counted work.
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from territorial.errors import ConfigError

if TYPE_CHECKING:
    from territorial.design.problem import DesignProblem
    from territorial.design.result import SolverOutcome

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: Modules holding the registered solvers, imported the first time the registry is read.
SOLVER_MODULES: tuple[str, ...] = (
    "territorial.design.balanced",
    "territorial.design.lp_assign",
    "territorial.design.lp_regions",
    "territorial.design.realign_lp",
    "territorial.design.contiguity",
    "territorial.design.diameter",
    "territorial.design.exact",
    "territorial.design.free_centres_solver",
)


# --- the clock ------------------------------------------------------------------------------
class Clock:
    """The time a solver sees: wall seconds, or counted work in deterministic mode.

    Every solver asks the clock (:meth:`now`) instead of ``time.monotonic()`` when it
    decides to stop, and charges the work it has done (:meth:`charge`, in *work
    units*). Without a work limit :meth:`now` is the wall time since the start and
    charged work is only counted for the report. With ``work_limit`` :meth:`now` is the
    work charged so far: iterations, passes over the units, simplex pivots and
    branch-and-bound nodes converted to work units by fixed factors, never measured,
    so the same inputs and seed take the same path on any machine and under any load.
    One work unit is about one second of computation on the reference 2-core machine
    (the factors are documented in ``docs/design-solvers.md``).

    ``time_limit`` stays a safety cap in deterministic mode: past it :meth:`now`
    returns infinity (every solver stops at its next check) and :attr:`capped` is set,
    so the result says it is not reproducible.
    """

    def __init__(
        self,
        *,
        time_limit: float,
        work_limit: float | None = None,
        timer: Callable[[], float] | None = None,
    ) -> None:
        if not time_limit > 0:
            raise ConfigError(f"time_limit must be positive seconds, got {time_limit}")
        if work_limit is not None and not work_limit > 0:
            raise ConfigError(f"work_limit must be positive work units, got {work_limit}")
        self.time_limit = float(time_limit)
        self.work_limit = None if work_limit is None else float(work_limit)
        self._timer = timer if timer is not None else time.monotonic
        self._start = self._timer()
        self._work = 0.0
        self.capped = False

    @property
    def deterministic(self) -> bool:
        """Stopping decisions follow counted work, not the wall clock."""
        return self.work_limit is not None

    @property
    def limit(self) -> float:
        """The whole run's budget in clock units (work units or seconds)."""
        return self.work_limit if self.work_limit is not None else self.time_limit

    def now(self) -> float:
        """Clock units since the start: work units (deterministic) or seconds."""
        elapsed = self._timer() - self._start
        if self.work_limit is None:
            return elapsed
        if elapsed > self.time_limit:
            self.cap()
            return math.inf
        return self._work

    def cap(self) -> None:
        """Record that the safety time limit stopped the run (deterministic mode only)."""
        if self.work_limit is not None:
            if not self.capped:
                log.warning(
                    "the %.0f s safety time limit stopped a deterministic run after %.3g of "
                    "%.3g work units: this plan is not reproducible",
                    self.time_limit,
                    self._work,
                    self.work_limit,
                )
            self.capped = True

    def charge(self, work: float) -> None:
        """Count ``work`` work units done (a deterministic function of the step's counts)."""
        if work > 0:
            self._work += float(work)

    @property
    def work(self) -> float:
        """Work units charged so far."""
        return self._work

    @property
    def seconds(self) -> float:
        """Wall seconds since the start (for the report only)."""
        return self._timer() - self._start

    def deadline(self, budget: float) -> float:
        """The clock reading ``budget`` clock units from now (``now() + budget``)."""
        return self.now() + max(float(budget), 0.0)

    def solver_seconds(self, budget: float) -> float:
        """Wall seconds to give an external LP/MIP solver whose budget is ``budget`` units.

        Without a work limit that is ``budget`` itself. In deterministic mode the
        external solver is stopped by counted limits (:meth:`pivot_limit`,
        :meth:`node_limit`), and its wall time limit is only what is left of the safety
        cap: when that stops it, call :meth:`cap`.
        """
        if self.work_limit is None:
            return max(float(budget), 0.0)
        return max(self.time_limit - (self._timer() - self._start), 0.0)

    def pivot_limit(self, budget: float, size: int) -> int | None:
        """Simplex iterations an LP of ``size`` rows + columns may take within ``budget``
        work units (deterministic mode; ``None`` without a work limit: the wall time
        limit stops it)."""
        if self.work_limit is None:
            return None
        return max(int(budget / pivot_work(1, size)), 50)

    def node_limit(self, budget: float, size: int) -> int | None:
        """Branch-and-bound nodes a MIP of ``size`` rows + columns may take within
        ``budget`` work units (deterministic mode; ``None`` without a work limit)."""
        if self.work_limit is None:
            return None
        return max(int(budget / node_work(1, size)), 1)

    def scipy_limits(self, budget: float, size: int, *, mip: bool = False) -> dict[str, Any]:
        """HiGHS options for ``scipy.optimize.linprog``/``milp`` within ``budget`` units:
        ``time_limit`` and, in deterministic mode, a pivot (LP) or node (MIP) limit."""
        out: dict[str, Any] = {"time_limit": max(self.solver_seconds(budget), 0.05)}
        if self.work_limit is not None:
            if mip:
                out["node_limit"] = self.node_limit(budget, size)
            else:
                out["maxiter"] = self.pivot_limit(budget, size)
        return out

    def charge_scipy(self, result: Any, size: int) -> None:
        """Charge the pivots and nodes an ``OptimizeResult`` of linprog/milp reports
        (``size``: the model's rows + columns)."""
        nodes = int(getattr(result, "mip_node_count", 0) or 0)
        pivots = int(getattr(result, "nit", 0) or 0)
        self.charge(pivot_work(pivots, size) + node_work(max(nodes, 1), size))
        self.now()  # deterministic mode: notes a safety-cap stop

    def limit_highs(self, highs: Any, budget: float, *, mip: bool = False) -> None:
        """Set a ``highspy.Highs`` model's limits for ``budget`` clock units (call it
        once the model is passed): its time limit and, in deterministic mode, a pivot
        and (``mip``) node limit."""
        size = int(highs.getNumRow()) + int(highs.getNumCol())
        highs.setOptionValue("time_limit", max(self.solver_seconds(budget), 0.05))
        if self.work_limit is not None:
            highs.setOptionValue("threads", 1)
            highs.setOptionValue("simplex_iteration_limit", self.pivot_limit(budget, size))
            if mip:
                highs.setOptionValue("mip_max_nodes", self.node_limit(budget, size))

    def charge_highs(self, highs: Any) -> None:
        """Charge the pivots, IPM iterations and nodes a ``highspy.Highs`` run reports."""
        rows = int(highs.getNumRow()) + int(highs.getNumCol())
        info = highs.getInfo()
        pivots = max(int(info.simplex_iteration_count), 0) + 50 * max(
            int(info.ipm_iteration_count), 0
        )
        nodes = int(info.mip_node_count)
        if highs.getLp().integrality_:  # a MIP: presolve, root and setup count as a node
            nodes = max(nodes, 1)
        nodes = max(nodes, 0)
        self.charge(pivot_work(pivots, rows) + node_work(nodes, rows))
        self.now()  # deterministic mode: notes a safety-cap stop

    @contextlib.contextmanager
    def active(self) -> Iterator[Clock]:
        """Make this the clock :func:`current_clock` returns while the block runs."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)


# --- work units ------------------------------------------------------------------------------
# Fixed conversion factors from counted steps to work units (about a second on the
# reference 2-core machine per unit). They are never measured at run time: a slower
# machine does the same work in more seconds and stops at the same step.

#: Work of one step of a search loop in Python, besides the pairs it evaluates.
WORK_PER_STEP = 2.0e-4
#: Work of evaluating one (unit, candidate territory) pair in a sweep over the units.
WORK_PER_PAIR = 2.0e-8
#: Work of one simplex pivot per row and column of the LP (a pivot on an LP of 100,000
#: rows and columns ~ 1 ms).
WORK_PER_PIVOT_ENTRY = 1.0e-8
#: Work of one branch-and-bound node (besides its pivots) per row and column of the model
#: (a MIP's presolve and root count as one node).
WORK_PER_NODE_ENTRY = 1.0e-5


def pair_work(units: int, candidates: int = 1) -> float:
    """Work units of a step (a sweep, a round) evaluating ``units`` x ``candidates`` pairs."""
    return WORK_PER_STEP + WORK_PER_PAIR * max(int(units), 0) * max(int(candidates), 1)


def pivot_work(pivots: int, size: int) -> float:
    """Work units of ``pivots`` simplex iterations on an LP of ``size`` rows + columns."""
    return WORK_PER_PIVOT_ENTRY * max(int(pivots), 0) * max(int(size), 1000)


def node_work(nodes: int, size: int) -> float:
    """Work units of ``nodes`` branch-and-bound nodes on a model of ``size`` rows +
    columns (presolve and the root count as one node)."""
    return WORK_PER_NODE_ENTRY * max(int(nodes), 0) * max(int(size), 1000)


_ACTIVE: ContextVar[Clock | None] = ContextVar("territorial_design_clock", default=None)


def current_clock() -> Clock:
    """The clock of the design run in progress (:meth:`Clock.active`).

    Outside a run (a solver function called directly) it is one shared wall clock with
    no limit: ``clock.now()`` is seconds, and deadlines computed by one function mean the
    same to the helpers it calls.
    """
    clock = _ACTIVE.get()
    return clock if clock is not None else _WALL


_WALL = Clock(time_limit=math.inf)


@dataclass
class Run:
    """What a solver is given besides the problem and its options.

    ``limit`` is the solver's budget in clock units from ``start`` (``clock.now()`` when
    the run began); ``deadline`` is when it should return. ``share`` carves a sub-run
    for a phase (``run.share(0.4)``: 40% of what is left).
    """

    clock: Clock
    seed: int = 0
    progress: Progress | None = None
    limit: float = math.inf
    start: float = field(default=math.nan)
    span: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if math.isnan(self.start):
            self.start = self.clock.now()
        if math.isinf(self.limit):
            self.limit = max(self.clock.limit - self.start, 0.0)

    @property
    def deadline(self) -> float:
        return self.start + self.limit

    def left(self) -> float:
        """Clock units left before the deadline (never negative)."""
        return max(self.deadline - self.clock.now(), 0.0)

    def expired(self) -> bool:
        return self.clock.now() >= self.deadline

    def share(self, fraction: float, *, span: tuple[float, float] | None = None) -> Run:
        """A sub-run with ``fraction`` of the time left (and that part of the progress bar)."""
        a, b = self.span
        sub = span if span is not None else (0.0, 1.0)
        return Run(
            clock=self.clock,
            seed=self.seed,
            progress=self.progress,
            limit=max(fraction, 0.0) * self.left(),
            span=(a + (b - a) * sub[0], a + (b - a) * sub[1]),
        )

    def report(self, fraction: float, message: str) -> None:
        """Progress within this run's part of the bar (``fraction`` in [0, 1])."""
        if self.progress is not None:
            a, b = self.span
            self.progress(a + (b - a) * min(max(fraction, 0.0), 1.0), message)


# --- solvers ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NoOptions:
    """A solver without tuning options."""


OptionsT = TypeVar("OptionsT")


class Solver(abc.ABC, Generic[OptionsT]):
    """A named algorithm for :class:`~territorial.design.problem.DesignProblem`.

    Subclasses (``class MySolver(Solver[MyOptions])``) set the class attributes and
    implement :meth:`solve`; ``options`` (an instance of ``options_type``) is stored
    unchanged and read when ``solve`` runs.
    """

    #: Registry name, what ``design(solver=...)`` and ``--solver`` take.
    name: ClassVar[str]
    #: One line for the docs and the CLI's help.
    summary: ClassVar[str]
    #: The options dataclass (every tuning knob with its default).
    options_type: ClassVar[type[Any]] = NoOptions
    #: Order in which ``auto`` considers the solver (lower first).
    auto_priority: ClassVar[int] = 100
    #: A heuristic (``method="heuristic"`` may pick it): no LP or MIP inside.
    heuristic: ClassVar[bool] = False

    def __init__(self, options: OptionsT | None = None) -> None:
        value: Any = self.options_type() if options is None else options
        if not isinstance(value, self.options_type):
            raise ConfigError(
                f"solver {self.name!r} takes {self.options_type.__name__} options, "
                f"got {type(value).__name__}"
            )
        self.options: OptionsT = value

    @classmethod
    def refuses(cls, problem: DesignProblem) -> str | None:
        """Why this solver cannot solve ``problem`` (``None`` when it can)."""
        return None

    @classmethod
    def auto_reason(cls, problem: DesignProblem) -> str | None:
        """Why ``auto`` should run this solver on ``problem`` (``None``: not its case)."""
        return None

    @abc.abstractmethod
    def solve(self, problem: DesignProblem, run: Run) -> SolverOutcome:
        """A plan for ``problem`` within ``run``'s budget (never raise on a hard instance:
        return the least-violating plan; raise only on a bug or a refused problem)."""


_REGISTRY: dict[str, type[Solver[Any]]] = {}
_loaded = False
SolverT = TypeVar("SolverT", bound="type[Solver[Any]]")


def register(cls: SolverT) -> SolverT:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a non-empty class attribute 'name'")
    if not is_dataclass(cls.options_type):
        raise TypeError(f"{cls.__name__}.options_type must be a dataclass")
    known = _REGISTRY.get(name)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise TypeError(f"solver name {name!r} is taken by {known.__qualname__}")
    _REGISTRY[name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove the solver registered as ``name`` (a plug-in that goes away; tests)."""
    _REGISTRY.pop(name, None)


def _registry() -> dict[str, type[Solver[Any]]]:
    global _loaded
    if not _loaded:
        for module in SOLVER_MODULES:
            importlib.import_module(module)
        _loaded = True
    return _REGISTRY


def solver_names() -> list[str]:
    """Registered solver names, in the order ``auto`` considers them."""
    reg = _registry()
    return sorted(reg, key=lambda n: (reg[n].auto_priority, n))


def get_solver(name: str) -> type[Solver[Any]]:
    """The solver class registered as ``name`` (``ConfigError`` listing the names)."""
    reg = _registry()
    if name not in reg:
        raise ConfigError(
            f"unknown solver {name!r}; choose auto or one of {', '.join(solver_names())}"
        )
    return reg[name]


def choose_solver(
    problem: DesignProblem, *, heuristic_only: bool = False, exclude: tuple[str, ...] = ()
) -> tuple[str, str]:
    """The solver ``auto`` runs on ``problem`` and why: ``(name, reason)``.

    Solvers are considered by ``auto_priority`` (lower first; :func:`solver_names`); the
    first that accepts the problem (:meth:`Solver.refuses` is ``None``) and claims it
    (:meth:`Solver.auto_reason` gives a reason) runs. ``heuristic_only`` keeps to
    solvers without an LP or MIP (``method="heuristic"``); ``exclude`` leaves some out
    (the exact solver asks which solver would warm-start it).
    """
    refusals = []
    for name in solver_names():
        cls = _REGISTRY[name]
        if name in exclude or (heuristic_only and not cls.heuristic):
            continue
        refusal = cls.refuses(problem)
        if refusal is not None:
            refusals.append(f"{name}: {refusal}")
            continue
        reason = cls.auto_reason(problem)
        if reason is not None:
            return name, reason
    raise ConfigError(
        "no solver handles this problem" + (f" ({'; '.join(refusals)})" if refusals else "")
    )


def make_solver(name: str, options: Any = None) -> Solver[Any]:
    """An instance of solver ``name`` with ``options``; refuses unknown option types."""
    return get_solver(name)(options)


def options_dict(options: Any) -> dict[str, Any]:
    """Plain-JSON view of an options dataclass (for REPORT.json)."""
    out: dict[str, Any] = {}
    for f in fields(options):
        value = getattr(options, f.name)
        out[f.name] = options_dict(value) if is_dataclass(value) else value
    return out


__all__ = [
    "SOLVER_MODULES",
    "Clock",
    "NoOptions",
    "Run",
    "Solver",
    "choose_solver",
    "current_clock",
    "get_solver",
    "make_solver",
    "node_work",
    "options_dict",
    "pair_work",
    "pivot_work",
    "register",
    "solver_names",
    "unregister",
]
