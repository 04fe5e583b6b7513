"""The thin adapter between the store and the frame-level scoring library.

:func:`read_book` loads the canonical frames (``territorial.store.records`` when that
module exists, otherwise a direct read of the core tables); :func:`score_store` scores
them and replaces ``account_scores``; :func:`export_scores` writes a run to CSV/Parquet.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from territorial.errors import ConfigError, NotFoundError
from territorial.scoring.config import ScoringConfig, load_config
from territorial.scoring.pipeline import ScoringRun, score_accounts
from territorial.store.scores import write_scores
from territorial.store.tables import accounts, activities, opportunities, reps

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Book:
    """The store's accounts, reps, opportunities and activities as canonical frames."""

    accounts: pd.DataFrame
    reps: pd.DataFrame
    opportunities: pd.DataFrame
    activities: pd.DataFrame


def read_book(engine: Engine) -> Book:
    """Read every entity scoring needs; attributes arrive decoded as dicts."""
    try:
        records = importlib.import_module("territorial.store.records")
    except ImportError:
        records = None
    if records is not None and hasattr(records, "read_accounts"):
        return Book(
            accounts=records.read_accounts(engine),
            reps=records.read_reps(engine),
            opportunities=records.read_opportunities(engine),
            activities=records.read_activities(engine),
        )
    frames = {}
    with engine.connect() as connection:
        for name, table in (
            ("accounts", accounts),
            ("reps", reps),
            ("opportunities", opportunities),
            ("activities", activities),
        ):
            result = connection.execute(select(table))
            frames[name] = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return Book(**frames)


def score_store(
    engine: Engine,
    *,
    config: ScoringConfig | None = None,
    as_of: date | None = None,
    random_state: int = 0,
) -> ScoringRun:
    """Score the store's accounts and replace ``account_scores`` atomically with the result."""
    book = read_book(engine)
    if not len(book.accounts):
        raise NotFoundError("the store has no accounts to score; import some first")
    run = score_accounts(
        book.accounts,
        reps=book.reps,
        opportunities=book.opportunities,
        activities=book.activities,
        config=config or load_config(),
        as_of=as_of,
        random_state=random_state,
    )
    written = write_scores(engine, scores=run.scores)
    log.info("wrote %d rows to account_scores", written)
    return run


def check_export_path(path: str | Path) -> Path:
    """``path`` if it ends in ``.csv`` or ``.parquet``; :class:`ConfigError` otherwise."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"--out must end in .csv or .parquet, got {path.name!r}")
    return path


def export_scores(run: ScoringRun, path: str | Path) -> Path:
    """Write one row per account (scores plus account context) to ``.csv`` or ``.parquet``."""
    path = check_export_path(path)
    suffix = path.suffix.lower()
    frame = run.export_frame()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path
