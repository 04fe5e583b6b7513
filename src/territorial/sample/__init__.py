"""The realistic sample company: accounts at real US places, reps, and years of history.

``generate_company`` returns pandas DataFrames; ``write_sample_company`` writes the
files ``territorial import`` reads (CSV, Parquet or Excel). See ``docs/sample.md``.
"""

from territorial.sample.generate import (
    ACCOUNT_COLUMNS,
    ACTIVITY_COLUMNS,
    DEFAULT_AS_OF,
    OPPORTUNITY_COLUMNS,
    REP_COLUMNS,
    STAGES,
    SampleCompany,
    default_reps,
    generate_company,
    generate_tables,
)
from territorial.sample.win_model import win_logit, win_probability
from territorial.sample.write import FORMATS, write_sample_company, write_tables

__all__ = [
    "ACCOUNT_COLUMNS",
    "ACTIVITY_COLUMNS",
    "DEFAULT_AS_OF",
    "FORMATS",
    "OPPORTUNITY_COLUMNS",
    "REP_COLUMNS",
    "STAGES",
    "SampleCompany",
    "default_reps",
    "generate_company",
    "generate_tables",
    "win_logit",
    "win_probability",
    "write_sample_company",
    "write_tables",
]
