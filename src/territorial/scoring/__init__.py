"""Account scoring: fit, propensity, potential, tiers, workload and their reasons.

Library entry point: :func:`score_accounts` (canonical frames in, a :class:`ScoringRun`
out). The pieces are usable alone: :func:`fit_scores`, :class:`PropensityModel`,
:func:`revenue_potential`, :func:`tier_accounts`, :func:`account_workload`,
:func:`capacity_plan`. Configuration: :func:`load_config` (YAML laid over the shipped,
documented ``default_config.yaml``). Columns and units: ``docs/scoring.md``.
"""

from territorial.scoring.config import ScoringConfig, default_config_text, load_config
from territorial.scoring.fit import FitResult, fit_scores
from territorial.scoring.pipeline import SCORE_COLUMNS, ScoringRun, default_as_of, score_accounts
from territorial.scoring.potential import market_rollup, revenue_potential
from territorial.scoring.propensity import (
    InsufficientHistoryError,
    ModelQuality,
    PropensityModel,
    reliability_table,
)
from territorial.scoring.tiers import tier_accounts, tier_territories
from territorial.scoring.workload import (
    account_workload,
    capacity_plan,
    great_circle_miles,
    reps_needed,
    travel_distances,
)

__all__ = [
    "SCORE_COLUMNS",
    "FitResult",
    "InsufficientHistoryError",
    "ModelQuality",
    "PropensityModel",
    "ScoringConfig",
    "ScoringRun",
    "account_workload",
    "capacity_plan",
    "default_as_of",
    "default_config_text",
    "fit_scores",
    "great_circle_miles",
    "load_config",
    "market_rollup",
    "reliability_table",
    "reps_needed",
    "revenue_potential",
    "score_accounts",
    "tier_accounts",
    "tier_territories",
    "travel_distances",
]
