"""Plain, typed, immutable domain objects: accounts, reps, territories, plans, history."""

from territorial.domain.model import (
    CHANNELS,
    INDUSTRIES,
    SEGMENTS,
    Account,
    Activity,
    Money,
    Opportunity,
    Rep,
    Territory,
    segment_for_employees,
)

__all__ = [
    "CHANNELS",
    "INDUSTRIES",
    "SEGMENTS",
    "Account",
    "Activity",
    "Money",
    "Opportunity",
    "Rep",
    "Territory",
    "segment_for_employees",
]
