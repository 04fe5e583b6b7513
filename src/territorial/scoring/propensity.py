"""Look-alike propensity model: which accounts resemble recent wins, as a calibrated probability.

Training rows are closed opportunities; the label is ``is_won``; features are computed as
of each opportunity's ``created_date`` (:mod:`territorial.scoring.features`). Quality is
measured on a held-out *time* window: the model is trained on opportunities closed
before the cutoff and evaluated on those closed on or after it, never on its training
rows. The model used for scoring is then refitted on every closed opportunity.

The estimator is a standardised L2 logistic regression wrapped in a calibrator
(``CalibratedClassifierCV(ensemble=False)``: one regression fitted on all training rows,
one Platt/isotonic map learned from cross-validated predictions). Because the
regression is linear in standardised features, each feature group's contribution to
the log-odds is ``sum(coef_j x z_j)`` (``z_j`` = standardised value: 0 is the average
training opportunity); its effect on the probability is reported as
``p(account) - p(account with that group at the average)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from territorial.errors import TerritorialError
from territorial.scoring.config import PropensityConfig, load_config
from territorial.scoring.explain import (
    Describe,
    ObjectArray,
    join_reasons,
    signed,
    top_reason_parts,
)
from territorial.scoring.features import FeatureBuilder, FeatureMatrix, History, build_history, days

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


class InsufficientHistoryError(TerritorialError):
    """Too few closed-won or closed-lost opportunities to train or to judge the model."""

    http_status = 422
    exit_code = 3


@dataclass(frozen=True, slots=True)
class ModelQuality:
    """How well the model ranks and how honest its probabilities are, on the held-out window.

    ``roc_auc``: chance that a random held-out win is scored above a random held-out loss
    (0.5 = chance). ``brier``: mean squared error of the probabilities (lower is better);
    ``brier_baseline`` is the Brier score of always predicting the training win rate.
    ``reliability``: per probability bin, predicted versus observed win rate.
    """

    cutoff: date
    train_opportunities: int
    train_wins: int
    train_losses: int
    test_opportunities: int
    test_wins: int
    test_losses: int
    roc_auc: float
    brier: float
    brier_baseline: float
    log_loss: float
    test_win_rate: float
    reliability: pd.DataFrame

    def summary(self) -> str:
        return (
            f"held-out ROC AUC {self.roc_auc:.3f}, Brier {self.brier:.3f} "
            f"(baseline {self.brier_baseline:.3f}); trained on {self.train_opportunities} "
            f"opportunities closed before {self.cutoff.isoformat()} ({self.train_wins} won), "
            f"tested on {self.test_opportunities} closed on or after ({self.test_wins} won)"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "train_opportunities": self.train_opportunities,
            "train_wins": self.train_wins,
            "train_losses": self.train_losses,
            "test_opportunities": self.test_opportunities,
            "test_wins": self.test_wins,
            "test_losses": self.test_losses,
            "roc_auc": self.roc_auc,
            "brier": self.brier,
            "brier_baseline": self.brier_baseline,
            "log_loss": self.log_loss,
            "test_win_rate": self.test_win_rate,
            "reliability": self.reliability.to_dict(orient="records"),
        }


def propensity_text(change: FloatArray) -> ObjectArray:
    """``+0.18 propensity``."""
    return signed(change, decimals=2) + " propensity"


@dataclass(frozen=True, slots=True, eq=False)
class PropensityResult:
    """Per-account propensity: ``probability`` ``(n,)``, per-group ``contributions`` ``(n, g)``
    in probability units, ``describe`` (per group: row indices -> texts naming the account's
    value), the top three ``reasons`` ``(n,)`` and the single strongest, ``top_reason``."""

    probability: FloatArray
    contributions: FloatArray
    describe: tuple[Describe, ...]
    reasons: ObjectArray
    top_reason: ObjectArray
    group_names: tuple[str, ...]


def reliability_table(y: npt.ArrayLike, p: npt.ArrayLike, *, bins: int = 10) -> pd.DataFrame:
    """Predicted versus observed win rate in ``bins`` equal-width probability bins (empty bins
    left out): ``p_low``, ``p_high``, ``opportunities``, ``mean_predicted``, ``observed_rate``."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "y": y, "p": p})
    grouped = frame.groupby("bin").agg(
        opportunities=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    grouped.insert(0, "p_low", edges[grouped.index])
    grouped.insert(1, "p_high", edges[grouped.index + 1])
    return grouped.reset_index(drop=True)


def _outcome_rows(
    accounts: pd.DataFrame, opportunities: pd.DataFrame, signals: tuple[str, ...]
) -> pd.DataFrame:
    """Closed opportunities with their account's columns; dated signals on the opportunity win."""
    closed = opportunities[
        opportunities["is_closed"]
        & opportunities["close_date"].notna()
        & opportunities["created_date"].notna()
    ]
    dated = [s for s in signals if s in closed.columns]
    keep = ["account_id", "created_date", "close_date", "is_won", *dated]
    left = closed[keep].rename(columns={s: f"__opp_{s}" for s in dated})
    rows = left.merge(
        accounts, left_on="account_id", right_on="id", how="inner", validate="many_to_one"
    )
    dropped = len(closed) - len(rows)
    if dropped:
        log.warning("%d closed opportunities name accounts that do not exist; ignored", dropped)
    for s in dated:
        rows[s] = rows.pop(f"__opp_{s}")
    return rows.reset_index(drop=True)


class PropensityModel:
    """Calibrated look-alike model over closed-won versus closed-lost opportunities.

    Parameters (stored unchanged, validated in :meth:`fit`): ``config`` (the
    ``propensity`` section; default: the shipped default), ``random_state`` (seed of the
    cross-validation folds used for calibration).

    Attributes after :meth:`fit`: ``quality_`` (:class:`ModelQuality` on the held-out
    window), ``importance_`` (feature groups ranked by the held-out AUC of their
    contribution alone, see :meth:`_importance`), ``builder_``, ``scaler_``, ``model_``
    (refitted on all closed opportunities), ``cutoff_``.
    """

    def __init__(self, *, config: PropensityConfig | None = None, random_state: int = 0) -> None:
        self.config = config
        self.random_state = random_state

    # -- training -------------------------------------------------------------------------

    def _config(self) -> PropensityConfig:
        return self.config if self.config is not None else load_config().propensity

    def _weights(self, close_days: npt.NDArray[np.int64], reference: int) -> FloatArray | None:
        half_life = self._config().recency_half_life_days
        if half_life is None:
            return None
        return np.power(0.5, np.clip(reference - close_days, 0, None) / half_life)

    def _train(
        self, rows: pd.DataFrame, history: History, reference_day: int
    ) -> tuple[FeatureBuilder, StandardScaler, CalibratedClassifierCV, FeatureMatrix]:
        cfg = self._config()
        builder = FeatureBuilder(cfg).learn(rows)
        codes = history.account_index.get_indexer(rows["account_id"].to_numpy(dtype=object))
        features = builder.build(rows, codes, days(rows["created_date"]), history)
        scaler = StandardScaler().fit(features.x)
        y = rows["is_won"].to_numpy(dtype=int)
        # Three folds: the calibration map has two parameters, and every fold is a full fit.
        folds = int(min(3, np.bincount(y, minlength=2).min()))
        model = CalibratedClassifierCV(
            # Newton-Cholesky: few (<100) standardised features, many rows -> a handful of
            # exact Newton steps instead of hundreds of L-BFGS iterations.
            LogisticRegression(C=cfg.regularization_c, solver="newton-cholesky", max_iter=200),
            method=cfg.calibration,
            cv=StratifiedKFold(
                n_splits=max(folds, 2), shuffle=True, random_state=self.random_state
            ),
            ensemble=False,
        )
        weights = self._weights(days(rows["close_date"]), reference_day)
        model.fit(scaler.transform(features.x), y, sample_weight=weights)
        return builder, scaler, model, features

    def fit(
        self,
        *,
        accounts: pd.DataFrame,
        opportunities: pd.DataFrame,
        activities: pd.DataFrame,
        history: History | None = None,
    ) -> PropensityModel:
        """Train, evaluate on the held-out time window, then refit on all closed outcomes.

        Frames are canonical (see :mod:`territorial.scoring.frames`). Raises
        :class:`InsufficientHistoryError` when either window has fewer wins or losses than
        configured.
        """
        cfg = self._config()
        if history is None:
            history = build_history(
                accounts["id"], activities, opportunities, channels=cfg.channels
            )
        rows = _outcome_rows(accounts, opportunities, cfg.signals)
        close = rows["close_date"]
        if cfg.cutoff is not None:
            cutoff = pd.Timestamp(cfg.cutoff)
        elif len(rows):
            cutoff = close.quantile(1.0 - cfg.holdout_fraction).normalize()
        else:
            cutoff = pd.Timestamp("1970-01-01")
        train = (close < cutoff).to_numpy()
        won = rows["is_won"].to_numpy(dtype=bool)
        counts = {
            "train_wins": int((train & won).sum()),
            "train_losses": int((train & ~won).sum()),
            "test_wins": int((~train & won).sum()),
            "test_losses": int((~train & ~won).sum()),
        }
        short_train = min(counts["train_wins"], counts["train_losses"]) < cfg.min_train_outcomes
        short_test = min(counts["test_wins"], counts["test_losses"]) < cfg.min_test_outcomes
        if short_train or short_test:
            raise InsufficientHistoryError(
                "not enough closed opportunities to train the propensity model: "
                f"{counts['train_wins']} won and {counts['train_losses']} lost closed before "
                f"{cutoff.date().isoformat()} (need at least {cfg.min_train_outcomes} of each), "
                f"{counts['test_wins']} won and {counts['test_losses']} lost closed on or after it "
                f"(need at least {cfg.min_test_outcomes} of each to measure quality). Import more "
                "opportunity history, lower propensity.min_train_outcomes/min_test_outcomes, or "
                "set propensity.mode: off"
            )

        # Held-out evaluation: fit on the earlier window only.
        train_rows, test_rows = (
            rows[train].reset_index(drop=True),
            rows[~train].reset_index(drop=True),
        )
        cutoff_day = int(days(pd.Series([cutoff]))[0])
        builder, scaler, model, train_features = self._train(train_rows, history, cutoff_day)
        codes = history.account_index.get_indexer(test_rows["account_id"].to_numpy(dtype=object))
        test_x = builder.build(test_rows, codes, days(test_rows["created_date"]), history).x
        p_test = model.predict_proba(scaler.transform(test_x))[:, 1]
        y_test = test_rows["is_won"].to_numpy(dtype=int)
        train_rate = float(train_rows["is_won"].mean())
        self.quality_ = ModelQuality(
            cutoff=cutoff.date(),
            train_opportunities=len(train_rows),
            test_opportunities=len(test_rows),
            roc_auc=float(roc_auc_score(y_test, p_test)),
            brier=float(brier_score_loss(y_test, p_test)),
            brier_baseline=float(brier_score_loss(y_test, np.full(len(y_test), train_rate))),
            log_loss=float(log_loss(y_test, np.clip(p_test, 1e-6, 1 - 1e-6), labels=[0, 1])),
            test_win_rate=float(y_test.mean()),
            reliability=reliability_table(y_test, p_test, bins=cfg.reliability_bins),
            **counts,
        )
        test_features = builder.build(test_rows, codes, days(test_rows["created_date"]), history)
        self.importance_ = self._importance(scaler, model, train_features, test_features, y_test)
        self.cutoff_ = cutoff.date()
        log.info("propensity model: %s", self.quality_.summary())

        # Production model: every closed outcome, recency measured from the latest close.
        latest_day = int(days(close).max())
        self.builder_, self.scaler_, self.model_, _ = self._train(rows, history, latest_day)
        self.history_ = history
        return self

    @staticmethod
    def _linear(model: CalibratedClassifierCV) -> tuple[FloatArray, float, Any]:
        fitted = model.calibrated_classifiers_[0]
        regression = fitted.estimator
        return regression.coef_.ravel(), float(regression.intercept_[0]), fitted.calibrators[0]

    def _importance(
        self,
        scaler: StandardScaler,
        model: CalibratedClassifierCV,
        train: FeatureMatrix,
        test: FeatureMatrix,
        y_test: npt.NDArray[np.int_],
    ) -> pd.DataFrame:
        """Feature groups by ``heldout_auc``: the ROC AUC, on the held-out window, of the
        group's log-odds contribution alone (0.5 = no signal). Unlike coefficient sizes it
        is not fooled by correlated pairs whose large opposite coefficients cancel out."""
        coef, _, _ = self._linear(model)
        z_train, z_test = scaler.transform(train.x), scaler.transform(test.x)
        rows = []
        for group in train.groups:
            cols = list(group.columns)
            contribution = z_test[:, cols] @ coef[cols]
            separable = np.ptp(contribution) > 0
            rows.append(
                {
                    "feature": group.name,
                    "heldout_auc": float(roc_auc_score(y_test, contribution)) if separable else 0.5,
                    "mean_abs_logit": float(np.mean(np.abs(z_train[:, cols] @ coef[cols]))),
                    "max_abs_coefficient": float(np.max(np.abs(coef[cols]))),
                }
            )
        frame = pd.DataFrame(rows).sort_values(["heldout_auc", "mean_abs_logit"], ascending=False)
        return frame.reset_index(drop=True)

    # -- scoring --------------------------------------------------------------------------

    def predict(self, *, accounts: pd.DataFrame, as_of: date, top: int = 3) -> PropensityResult:
        """Calibrated win probability for every account as of ``as_of``, with contributions.

        ``accounts`` must be the frame the model was fitted with (or share its ids).
        """
        if not hasattr(self, "model_"):
            raise TerritorialError("the propensity model is not trained; call fit() first")
        history = self.history_
        n = len(accounts)
        codes = history.account_index.get_indexer(accounts["id"].to_numpy(dtype=object))
        at = np.full(n, int(days(pd.Series([pd.Timestamp(as_of)]))[0]), dtype=np.int64)
        features = self.builder_.build(accounts, codes, at, history)
        z = self.scaler_.transform(features.x)
        coef, intercept, calibrator = self._linear(self.model_)
        logit = z @ coef + intercept
        probability = np.clip(calibrator.predict(logit), 0.0, 1.0)
        contributions = np.empty((n, len(features.groups)))
        for g, group in enumerate(features.groups):
            cols = list(group.columns)
            without = logit - z[:, cols] @ coef[cols]
            contributions[:, g] = probability - np.clip(calibrator.predict(without), 0.0, 1.0)
        parts = top_reason_parts(
            contributions, features.describe, top=top, min_abs=0.005, amount_text=propensity_text
        )
        return PropensityResult(
            probability=probability,
            contributions=contributions,
            describe=features.describe,
            reasons=join_reasons(parts),
            top_reason=parts[0] if parts else np.full(n, "", dtype=object),
            group_names=tuple(g.name for g in features.groups),
        )
