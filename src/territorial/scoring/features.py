"""Account features as of a date: the propensity model's inputs, without leakage.

Every feature of a (account, date) query uses only what was known strictly before the
date: activities that occurred before it, opportunities closed before it. Training rows
are opportunities queried at their ``created_date``; scoring rows are accounts queried at
``as_of``. Counting is vectorised: events are sorted by ``account_code x SPAN + day`` and
each window count is the difference of two ``searchsorted`` positions, so 100k queries
over millions of events take milliseconds and no loop runs per account.

Features come in *groups* (one group per source: the one-hot columns of ``industry`` form
one group) so explanations speak of "Healthcare" rather than of a dummy column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from territorial.scoring.config import PropensityConfig
from territorial.scoring.explain import Describe, ObjectArray, format_int, format_money, format_text

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SPAN = 1_000_000  # days per account block in the sort key (~2,700 years)
_NO_ACTIVITY_DAYS = 365.0  # "days since last activity" when there was none (cap)
_MAX_LEVELS = 30  # one-hot levels kept per categorical column (most frequent)

_PLURAL = {"meeting": "meetings", "call": "calls", "email": "emails", "visit": "visits"}
_CATEGORY_LABELS = {
    "industry": "{value}",
    "segment": "{value} segment",
    "technology": "uses {value}",
}
_SIGNAL_LABELS = {
    "web_visits_30d": "{value} web visits in last 30 days",
    "intent_score": "intent score {value}",
    "hiring": "hiring",
    "new_executive": "new executive",
}


def days(values: pd.Series | npt.ArrayLike) -> IntArray:
    """Dates as whole days since 1970-01-01 (``NaT`` becomes a very large negative number)."""
    array = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]").astype("datetime64[D]")
    out = array.astype(np.int64)
    out[np.isnat(array)] = -(10**9)
    return out


class EventIndex:
    """Dated events per account, sorted for window counts by binary search."""

    def __init__(self, codes: IntArray, event_days: IntArray) -> None:
        ok = (codes >= 0) & (event_days > -(10**8))
        self.keys = np.sort(codes[ok].astype(np.int64) * _SPAN + event_days[ok])

    def count(self, codes: IntArray, start: IntArray, end: IntArray) -> FloatArray:
        """Events of account ``codes`` with ``start <= day < end`` (days since 1970, clipped at 0
        so a window never reaches into the previous account's block of keys)."""
        base = codes.astype(np.int64) * _SPAN
        start = np.clip(start, 0, _SPAN - 1)
        end = np.clip(end, 0, _SPAN - 1)
        hi = np.searchsorted(self.keys, base + end, side="left")
        lo = np.searchsorted(self.keys, base + start, side="left")
        return np.where(codes >= 0, hi - lo, 0).astype(float)

    def days_since_last(self, codes: IntArray, end: IntArray, *, cap: float) -> FloatArray:
        """Days from the latest event before ``end`` to ``end``; ``cap`` when none (or older)."""
        if self.keys.size == 0:
            return np.full(len(codes), cap, dtype=float)
        base = codes.astype(np.int64) * _SPAN
        idx = np.searchsorted(self.keys, base + end, side="left") - 1
        previous = self.keys[np.clip(idx, 0, None)]
        found = (idx >= 0) & (codes >= 0) & (previous >= base)
        return np.where(found, np.minimum(end - (previous - base), cap), cap).astype(float)


@dataclass(frozen=True, slots=True)
class History:
    """Activities and closed outcomes indexed by account code (see :func:`build_history`)."""

    account_index: pd.Index
    activities: dict[str, EventIndex]
    all_activities: EventIndex
    wins: EventIndex
    losses: EventIndex


def build_history(
    account_ids: pd.Series,
    activities: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    channels: tuple[str, ...],
) -> History:
    """Index activities (by channel) and closed won/lost opportunities (by close date)."""
    # Ids arrive as Python strings (see ``frames``); no re-conversion in this hot path.
    index = pd.Index(account_ids.to_numpy(dtype=object))
    act_codes = index.get_indexer(activities["account_id"].to_numpy(dtype=object))
    act_days = days(activities["occurred_at"])
    channel = pd.Series(activities["channel"].to_numpy(dtype=object)).str.lower().to_numpy()
    per_channel = {c: EventIndex(act_codes[channel == c], act_days[channel == c]) for c in channels}
    closed = opportunities[opportunities["is_closed"]]
    opp_codes = index.get_indexer(closed["account_id"].to_numpy(dtype=object))
    close_days = days(closed["close_date"])
    won = closed["is_won"].to_numpy()
    return History(
        account_index=index,
        activities=per_channel,
        all_activities=EventIndex(act_codes, act_days),
        wins=EventIndex(opp_codes[won], close_days[won]),
        losses=EventIndex(opp_codes[~won], close_days[~won]),
    )


@dataclass(frozen=True, slots=True)
class FeatureGroup:
    """One explainable source of features: ``columns`` of the design matrix."""

    name: str
    columns: tuple[int, ...]


@dataclass(frozen=True, slots=True, eq=False)
class FeatureMatrix:
    """Design matrix ``x`` (rows x features), feature ``names``, explainable ``groups`` and,
    per group, ``describe(rows)``: texts naming those rows' values ("3 meetings in last 30
    days"), built on demand so only the reasons actually shown are formatted."""

    x: FloatArray
    names: tuple[str, ...]
    groups: tuple[FeatureGroup, ...]
    describe: tuple[Describe, ...]

    def labels(self, rows: npt.ArrayLike) -> ObjectArray:
        """``(len(rows), groups)`` texts of the given rows (for inspection and tests)."""
        index = np.asarray(rows, dtype=np.intp)
        if not self.describe:
            return np.empty((len(index), 0), dtype=object)
        return np.stack([d(index) for d in self.describe], axis=1)


@dataclass(slots=True)
class FeatureBuilder:
    """Turns (account, date) queries into a design matrix.

    :meth:`learn` fixes the categorical levels, the medians used for missing numbers and
    which signal columns exist, from training rows only; :meth:`build` then applies the
    same recipe to any rows (held-out opportunities, accounts as of today).
    """

    config: PropensityConfig
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    signals: tuple[str, ...] = ()

    def learn(self, rows: pd.DataFrame) -> FeatureBuilder:
        for column in self.config.categorical:
            if column in rows.columns:
                counts = rows[column].dropna().value_counts()
                self.levels[column] = tuple(counts.index[:_MAX_LEVELS])
        for column in self.config.numeric_log:
            if column in rows.columns:
                values = pd.to_numeric(rows[column], errors="coerce")
                median = float(values.median()) if values.notna().any() else 0.0
                self.medians[column] = median
        self.signals = tuple(s for s in self.config.signals if s in rows.columns)
        return self

    def build(
        self, rows: pd.DataFrame, codes: IntArray, at_days: IntArray, history: History
    ) -> FeatureMatrix:
        """Features of ``rows`` (account columns) for account ``codes`` as of ``at_days``."""
        n = len(rows)
        blocks: list[FloatArray] = []
        names: list[str] = []
        groups: list[FeatureGroup] = []
        describe: list[Describe] = []

        def add(group: str, matrix: FloatArray, column_names: list[str], text: Describe) -> None:
            start = len(names)
            blocks.append(matrix.reshape(n, -1))
            names.extend(column_names)
            groups.append(FeatureGroup(group, tuple(range(start, len(names)))))
            describe.append(text)

        def template_text(
            template: str, values: npt.NDArray[np.generic], fmt: Callable[..., ObjectArray]
        ) -> Describe:
            before, _, after = template.partition("{value}")
            return lambda index: before + fmt(values[index]) + after

        def count_text(count: FloatArray, singular: str, plural: str, tail: str) -> Describe:
            def text(index: npt.NDArray[np.intp]) -> ObjectArray:
                c = count[index]
                word = np.where(c == 1, singular, plural).astype(object)
                return format_int(c) + " " + word + tail

            return text

        for column, levels in self.levels.items():
            if not levels:
                continue
            values = rows[column].to_numpy(dtype=object)
            level_of = pd.Index(list(levels), dtype=object).get_indexer(values)
            onehot = np.zeros((n, len(levels)))
            onehot[np.flatnonzero(level_of >= 0), level_of[level_of >= 0]] = 1.0
            template = _CATEGORY_LABELS.get(column, column.replace("_", " ") + " {value}")
            add(
                column,
                onehot,
                [f"{column}={lv}" for lv in levels],
                template_text(template, values, format_text),
            )

        for column, median in self.medians.items():
            raw = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
            filled = np.where(np.isnan(raw), median, raw)
            if column == "annual_revenue":
                text = template_text("{value} revenue", raw, format_money)
            else:
                text = template_text("{value} " + column.replace("_", " "), raw, format_int)
            add(column, np.log1p(np.clip(filled, 0, None)), [f"log1p({column})"], text)

        for column in self.signals:
            raw_series = rows[column]
            if raw_series.dtype == bool or raw_series.dropna().isin([True, False]).all():
                flag = raw_series.fillna(False).astype(bool).to_numpy()
                base = _SIGNAL_LABELS.get(column, column.replace("_", " "))

                def flag_text(
                    index: npt.NDArray[np.intp],
                    flag: npt.NDArray[np.bool_] = flag,
                    base: str = base,
                ) -> ObjectArray:
                    return np.where(flag[index], base, "no " + base).astype(object)

                add(column, flag.astype(float), [column], flag_text)
            else:
                raw = pd.to_numeric(raw_series, errors="coerce").fillna(0.0).to_numpy(dtype=float)
                template = _SIGNAL_LABELS.get(column, column.replace("_", " ") + " {value}")
                # Counts: diminishing returns.
                add(
                    column,
                    np.log1p(np.clip(raw, 0.0, None)),
                    [column],
                    template_text(template, raw, format_int),
                )

        for window in self.config.activity_windows_days:
            for channel in self.config.channels:
                index = history.activities.get(channel)
                if index is None:
                    continue
                count = index.count(codes, at_days - window, at_days)
                plural = _PLURAL.get(channel, channel + "s")
                add(
                    f"{channel}s_{window}d",
                    np.log1p(count),
                    [f"log1p({channel}s_{window}d)"],
                    count_text(count, channel, plural, f" in last {window} days"),
                )

        since = history.all_activities.days_since_last(codes, at_days, cap=_NO_ACTIVITY_DAYS)

        def since_text(index: npt.NDArray[np.intp]) -> ObjectArray:
            d = since[index]
            unit = np.where(d == 1, " day ago", " days ago").astype(object)
            recent = "last activity " + format_int(d) + unit
            return np.where(d >= _NO_ACTIVITY_DAYS, "no activity in the last year", recent).astype(
                object
            )

        add("days_since_activity", since, ["days_since_activity"], since_text)

        earliest = np.zeros(n, dtype=np.int64)
        wins = history.wins.count(codes, earliest, at_days)
        losses = history.losses.count(codes, earliest, at_days)
        add(
            "prior_wins",
            np.log1p(wins),
            ["log1p(prior_wins)"],
            count_text(wins, "earlier won deal", "earlier won deals", ""),
        )
        add(
            "prior_losses",
            np.log1p(losses),
            ["log1p(prior_losses)"],
            count_text(losses, "earlier lost deal", "earlier lost deals", ""),
        )

        x = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
        return FeatureMatrix(
            x=x, names=tuple(names), groups=tuple(groups), describe=tuple(describe)
        )
