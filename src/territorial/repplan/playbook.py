"""The playbook: which sequence, offer and collaboration a target gets, as data.

The rules are a YAML file (the shipped default is ``default_playbook.yaml`` next to this
module; its comments document every key). :func:`load_playbook` reads a user's file with
:func:`territorial.bounded.load_yaml` and validates it with pydantic, naming the file and
line of each problem. Rules are evaluated column-wise on a frame of targets
(:meth:`When.mask`), so a playbook costs the same for 10 or 10,000 targets.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from territorial.bounded import Strict, load_yaml, pydantic_problems, read_text_bounded
from territorial.errors import ConfigError, Problem, ValidationError

DEFAULT_PLAYBOOK = Path(__file__).with_name("default_playbook.yaml")
CHANNELS = ("email", "call", "social", "visit", "event", "decision")
#: Placeholders a text may use.
PLACEHOLDERS = frozenset(
    {
        "offer",
        "lookalike",
        "lookalike_or_product",
        "product",
        "technology",
        "other_reps",
        "industry",
        "city",
        "count",
    }
)
_MAX_PLAYBOOK_BYTES = 2_000_000


def _check_text(text: str) -> str:
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{unknown[0]}}}; allowed: "
            + ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
        )
    return text


class When(Strict):
    """Conditions of a rule; all given ones must hold (see the default file)."""

    tier: tuple[Literal["A", "B", "C"], ...] | None = None
    segment: tuple[str, ...] | None = None
    industry: tuple[str, ...] | None = None
    customer: bool | None = None
    signals: tuple[str, ...] | None = None
    lookalike: bool | None = None
    engagement: Literal["cold", "low", "active"] | None = None
    min_employees: int | None = Field(default=None, ge=0)
    max_employees: int | None = Field(default=None, ge=0)
    technology: tuple[str, ...] | None = None
    other_rep_active: bool | None = None
    open_opportunity: bool | None = None

    @field_validator("signals")
    @classmethod
    def _known_signals(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        from territorial.repplan.data import COUNT_SIGNALS, FLAG_SIGNALS

        known = (*FLAG_SIGNALS, *COUNT_SIGNALS)
        for s in value or ():
            if s not in known:
                raise ValueError(f"unknown signal {s!r}; known: {', '.join(known)}")
        return value

    def mask(self, frame: pd.DataFrame, engagement: EngagementSpec) -> np.ndarray:
        """Which rows of ``frame`` (target candidates) meet every condition."""
        ok = np.ones(len(frame), dtype=bool)

        def isin(column: str, values: tuple[str, ...] | None) -> None:
            nonlocal ok
            if values is not None:
                ok &= frame[column].astype(str).isin(values).to_numpy()

        isin("tier", self.tier)
        isin("segment", self.segment)
        isin("industry", self.industry)
        isin("technology", self.technology)
        if self.customer is not None:
            ok &= frame["customer"].to_numpy(bool) == self.customer
        if self.signals is not None:
            any_signal = np.zeros(len(frame), dtype=bool)
            for s in self.signals:
                values = frame[s]
                any_signal |= (
                    values.to_numpy(bool) if values.dtype == bool else (values.fillna(0) > 0)
                ).astype(bool)
            ok &= any_signal
        if self.lookalike is not None:
            ok &= frame["lookalike_name"].notna().to_numpy() == self.lookalike
        if self.engagement is not None:
            level = engagement.level(frame)
            wanted = ("cold", "low") if self.engagement == "low" else (self.engagement,)
            ok &= np.isin(level, wanted)
        if self.min_employees is not None:
            ok &= frame["employees"].fillna(-1).to_numpy(float) >= self.min_employees
        if self.max_employees is not None:
            employees = frame["employees"].to_numpy(float, na_value=np.nan)
            ok &= np.nan_to_num(employees, nan=np.inf) <= self.max_employees
        if self.other_rep_active is not None:
            ok &= (frame["other_reps"].map(len).to_numpy() > 0) == self.other_rep_active
        if self.open_opportunity is not None:
            ok &= (frame["open_opps"].to_numpy() > 0) == self.open_opportunity
        return ok


class EngagementSpec(Strict):
    cold_days: int = Field(default=90, ge=1, le=3650)
    low_activities: int = Field(default=2, ge=0)

    def level(self, frame: pd.DataFrame) -> np.ndarray:
        """``cold``, ``low`` or ``active`` per row. Cold accounts are also low (a rule
        asking for ``low`` matches them); the array gives the strongest word."""
        since = frame["days_since_activity"].to_numpy(float)
        recent = frame["activities_recent"].to_numpy(float)
        return np.where(
            ~(since <= self.cold_days),
            "cold",
            np.where(recent <= self.low_activities, "low", "active"),
        ).astype(object)


class LookalikeSpec(Strict):
    max_miles: float = Field(default=150, gt=0)
    recent_days: int = Field(default=730, ge=1)


class ProductSpec(Strict):
    similar_by: tuple[str, ...] = ("industry", "segment")
    min_won_deals: int = Field(default=5, ge=1)

    @field_validator("similar_by")
    @classmethod
    def _columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = ("industry", "segment", "state")
        for c in value:
            if c not in allowed:
                raise ValueError(f"similar_by may use {', '.join(allowed)}; got {c!r}")
        return value


class Step(Strict):
    day: int = Field(ge=0, le=89)
    channel: Literal["email", "call", "social", "visit", "event", "decision"]
    step: str = Field(min_length=1)
    hours: float = Field(default=0.25, ge=0, le=8)

    _text = field_validator("step")(_check_text)


class SequenceRule(Strict):
    name: str = Field(min_length=1)
    when: When = When()
    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _ordered(cls, value: tuple[Step, ...]) -> tuple[Step, ...]:
        days = [s.day for s in value]
        if days != sorted(days):
            raise ValueError(f"steps must be in order of day; got days {days}")
        return value

    @property
    def length_days(self) -> int:
        return max(s.day for s in self.steps)

    @property
    def hours(self) -> float:
        return float(sum(s.hours for s in self.steps))


class OfferRule(Strict):
    name: str = Field(min_length=1)
    when: When = When()
    offer: str = Field(min_length=1)

    _text = field_validator("offer")(_check_text)


class CollaborationRule(Strict):
    name: str = Field(min_length=1)
    when: When = When()
    team: str = Field(min_length=1)
    action: str = Field(min_length=1)

    _text = field_validator("action")(_check_text)


class ClusterRule(Strict):
    name: str = Field(min_length=1)
    by: tuple[Literal["industry", "city", "state", "segment"], ...] = Field(min_length=1)
    min_targets: int = Field(default=3, ge=2)
    team: str = Field(min_length=1)
    action: str = Field(min_length=1)

    _text = field_validator("action")(_check_text)


class Playbook(Strict):
    """A validated playbook (see ``default_playbook.yaml`` for every key)."""

    engagement: EngagementSpec = EngagementSpec()
    lookalike: LookalikeSpec = LookalikeSpec()
    products: ProductSpec = ProductSpec()
    sequences: tuple[SequenceRule, ...] = Field(min_length=1)
    offers: tuple[OfferRule, ...] = Field(min_length=1)
    collaboration: tuple[CollaborationRule, ...] = ()
    clusters: tuple[ClusterRule, ...] = ()
    source: str = Field(default="default_playbook.yaml", exclude=True)

    @field_validator("sequences", "offers")
    @classmethod
    def _catch_all(cls, value: tuple[SequenceRule | OfferRule, ...]) -> tuple:  # type: ignore[type-arg]
        last = value[-1]
        if last.when != When():
            raise ValueError(
                f"the last rule ({last.name!r}) must have no conditions (when: {{}}), so "
                "that every target gets one"
            )
        return value

    def first_match(
        self, rules: tuple[SequenceRule, ...] | tuple[OfferRule, ...], frame: pd.DataFrame
    ) -> np.ndarray:
        """Index of the first rule of ``rules`` each row meets (the last always holds)."""
        chosen = np.full(len(frame), -1, dtype=np.int64)
        for i, rule in enumerate(rules):
            free = chosen < 0
            if not free.any():
                break
            chosen[free & rule.when.mask(frame, self.engagement)] = i
        return chosen


def parse_playbook(text: str, *, source: str = "playbook.yaml") -> Playbook:
    """Validate a playbook's YAML text; every problem names ``source`` and its line."""
    doc = load_yaml(text, source=source)
    if doc.data is None:
        raise ValidationError(
            f"{source} is empty", [Problem(source, None, None, None, "the playbook is empty")]
        )
    try:
        book = Playbook.model_validate(doc.data)
    except PydanticValidationError as exc:
        problems = pydantic_problems(exc, source=source, line_of=doc.line)
        raise ValidationError(f"{source} has {len(problems)} problem(s)", problems) from None
    return book.model_copy(update={"source": source})


def load_playbook(path: Path | str | None = None) -> Playbook:
    """The playbook in ``path``, or the shipped default when ``path`` is ``None``."""
    if path is None:
        return default_playbook()
    file = Path(path)
    try:
        text = read_text_bounded(file, max_bytes=_MAX_PLAYBOOK_BYTES, what="playbook")
    except FileNotFoundError as exc:
        raise ConfigError(f"playbook file {file} does not exist") from exc
    return parse_playbook(text, source=file.name)


@lru_cache(maxsize=1)
def default_playbook() -> Playbook:
    """The playbook shipped with Territorial."""
    return parse_playbook(DEFAULT_PLAYBOOK.read_text(), source=DEFAULT_PLAYBOOK.name)


__all__ = [
    "CHANNELS",
    "DEFAULT_PLAYBOOK",
    "ClusterRule",
    "CollaborationRule",
    "OfferRule",
    "Playbook",
    "SequenceRule",
    "Step",
    "When",
    "default_playbook",
    "load_playbook",
    "parse_playbook",
]
