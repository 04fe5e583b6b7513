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
import importlib
import logging
import math
import time
from collections.abc import Callable
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

    def __init__(self, *, time_limit: float, work_limit: float | None = None) -> None:
        if not time_limit > 0:
            raise ConfigError(f"time_limit must be positive seconds, got {time_limit}")
        if work_limit is not None and not work_limit > 0:
            raise ConfigError(f"work_limit must be positive work units, got {work_limit}")
        self.time_limit = float(time_limit)
        self.work_limit = None if work_limit is None else float(work_limit)
        self._start = time.monotonic()
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
        elapsed = time.monotonic() - self._start
        if self.work_limit is None:
            return elapsed
        if elapsed > self.time_limit:
            if not self.capped:
                log.warning(
                    "the %.0f s safety time limit stopped a deterministic run after %.3g of "
                    "%.3g work units: this plan is not reproducible",
                    self.time_limit,
                    self._work,
                    self.work_limit,
                )
            self.capped = True
            return math.inf
        return self._work

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
        return time.monotonic() - self._start


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
    "get_solver",
    "make_solver",
    "options_dict",
    "register",
    "solver_names",
    "unregister",
]
