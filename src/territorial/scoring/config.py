"""The scoring configuration: one YAML file, documented, merged over the shipped default.

``load_config(path)`` reads the user's file, lays it over ``default_config.yaml`` (so a
user file only needs the keys it changes) and validates everything at once, failing
with :class:`~territorial.errors.ConfigError` naming the key and the value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, PlainValidator, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from territorial.bounded import (
    YAML_MAX_CHARS,
    Strict,
    YamlDocument,
    fail,
    load_yaml,
    pydantic_problems,
    read_text_bounded,
)
from territorial.errors import ConfigError, ValidationError

DEFAULT_CONFIG_NAME = "default_config.yaml"
FORMATS = ("text", "int", "money")


def default_config_text() -> str:
    """The shipped default configuration, comments included (for ``--help`` and docs)."""
    return resources.files("territorial.scoring").joinpath(DEFAULT_CONFIG_NAME).read_text("utf-8")


@dataclass(frozen=True, slots=True)
class FitFactor:
    """One ideal-customer-profile factor: a column, its weight and how values score.

    ``values`` maps lower-cased categorical values to a share in ``[0, 1]``; ``bands`` is
    a sorted tuple of ``(lower_bound, share)`` for numeric columns. Exactly one is set.
    """

    name: str
    column: str
    weight: float
    label: str
    format: str
    values: tuple[tuple[str, float], ...] | None
    bands: tuple[tuple[float, float], ...] | None
    default: float
    missing: float


@dataclass(frozen=True, slots=True)
class PropensityConfig:
    mode: str
    cutoff: date | None
    holdout_fraction: float
    min_train_outcomes: int
    min_test_outcomes: int
    categorical: tuple[str, ...]
    numeric_log: tuple[str, ...]
    signals: tuple[str, ...]
    activity_windows_days: tuple[int, ...]
    channels: tuple[str, ...]
    regularization_c: float
    recency_half_life_days: float | None
    calibration: str
    reliability_bins: int


@dataclass(frozen=True, slots=True)
class PotentialConfig:
    method: str
    min_won_deals: int
    seat_share_by_industry: dict[str, float]
    default_seat_share: float
    price_per_seat_by_segment: dict[str, float]
    default_price_per_seat: float
    max_seats: float
    serviceable_min_fit: float
    serviceable_states: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class TierConfig:
    weights: dict[str, float]
    threshold_a: float
    threshold_b: float


@dataclass(frozen=True, slots=True)
class TierWork:
    visits_per_year: float
    visit_hours: float
    calls_per_year: float
    call_hours: float


@dataclass(frozen=True, slots=True)
class WorkloadConfig:
    per_tier: dict[str, TierWork]
    road_factor: float
    speed_mph: float
    default_travel_miles: float
    max_travel_miles: float


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    hours_per_week: float
    weeks_per_year: float
    utilisation: float


@dataclass(frozen=True, slots=True)
class MarketConfig:
    activity_days: int
    seasonality_alpha: float
    seasonality_min_eta2: float


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Everything scoring reads, validated. Build with :func:`load_config`."""

    fit: tuple[FitFactor, ...]
    propensity: PropensityConfig
    potential: PotentialConfig
    tiers: TierConfig
    workload: WorkloadConfig
    capacity: CapacityConfig
    market: MarketConfig
    source: str = "default"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Lay ``over`` on ``base`` recursively; lists and scalars replace, dicts merge.

    Fit factors merge by name, so a user can change one factor's weight only; a
    factor set to ``null`` is removed.
    """
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is None and key in out and isinstance(out[key], dict):
            del out[key]
        else:
            out[key] = copy.deepcopy(value)
    return out


# ----------------------------------------------------------------------------- models
# The file's shape, types and ranges as pydantic models; ``parse_config`` turns them
# into the frozen dataclasses above. Every message names the key path, and the line
# of the file the value came from.


def _num(*, low: float | None = None, high: float | None = None, allow_none: bool = False) -> Any:
    def check(value: Any) -> float | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise fail(f"must be a finite number, got {value!r}")
        if low is not None and number < low:
            raise fail(f"must be at least {low:g}, got {number:g}")
        if high is not None and number > high:
            raise fail(f"must be at most {high:g}, got {number:g}")
        return number

    return PlainValidator(check)


def _choice(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if value not in options:
            raise fail(f"must be one of {', '.join(options)}; got {value!r}")
        return str(value)

    return PlainValidator(check)


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"must be a list of names, got {value!r}")
    return tuple(value)


def _maybe_names(value: Any) -> tuple[str, ...] | None:
    return None if value is None else _names(value)


def _cutoff(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise fail(f"must be a date YYYY-MM-DD, got {value!r}") from None


def _windows(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in value
    ):
        raise fail(f"must be a list of positive days, got {value!r}")
    return tuple(value)


def _bands(value: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or not value:
        raise fail(f"must be a list of [lower_bound, share] pairs, got {value!r}")
    parsed = []
    for i, pair in enumerate(value):
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in pair)
            and all(math.isfinite(x) for x in pair)
        )
        if not ok or not 0.0 <= pair[1] <= 1.0:
            raise fail(
                f"bands[{i}] must be [lower_bound, share] with share in [0, 1], got {pair!r}"
            )
        parsed.append((float(pair[0]), float(pair[1])))
    lows = [p[0] for p in parsed]
    if lows != sorted(lows) or len(set(lows)) != len(lows):
        raise fail(f"lower bounds must increase strictly, got {lows}")
    return tuple(parsed)


def _label(value: Any) -> str:
    if not isinstance(value, str) or value.count("{value}") != 1:
        raise fail(f"must contain {{value}} exactly once, got {value!r}")
    return value


def _column(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise fail(f"must be a column name, got {value!r}")
    return value


Share = Annotated[float, _num(low=0.0, high=1.0)]
NonNegative = Annotated[float, _num(low=0.0)]


class _FitFactorSpec(Strict):
    column: Annotated[str, PlainValidator(_column)] | None = None
    weight: NonNegative
    label: Annotated[str, PlainValidator(_label)] = "{value}"
    format: Annotated[str, _choice(FORMATS)] = "text"
    values: dict[str, Share] | None = None
    bands: Annotated[tuple[tuple[float, float], ...], PlainValidator(_bands)] | None = None
    default: Share = 0.0
    missing: Share = 0.0

    @model_validator(mode="after")
    def _values_or_bands(self) -> _FitFactorSpec:
        given = self.model_fields_set & {"values", "bands"}
        if len(given) == 2:
            raise fail("values and bands cannot both be given; pick one")
        if not given:
            raise fail("values or bands must be given")
        return self


class _FitSpec(Strict):
    factors: dict[str, _FitFactorSpec]


class _PropensitySpec(Strict):
    mode: Annotated[str, _choice(("auto", "required", "off"))]
    cutoff: Annotated[date | None, PlainValidator(_cutoff)] = None
    holdout_fraction: Annotated[float, _num(low=0.05, high=0.9)]
    min_train_outcomes: Annotated[float, _num(low=1)]
    min_test_outcomes: Annotated[float, _num(low=1)]
    categorical: Annotated[tuple[str, ...], PlainValidator(_names)]
    numeric_log: Annotated[tuple[str, ...], PlainValidator(_names)]
    signals: Annotated[tuple[str, ...], PlainValidator(_names)]
    activity_windows_days: Annotated[tuple[int, ...], PlainValidator(_windows)]
    channels: Annotated[tuple[str, ...], PlainValidator(_names)]
    regularization_c: Annotated[float, _num(low=1e-6)]
    recency_half_life_days: Annotated[float | None, _num(low=1.0, allow_none=True)] = None
    calibration: Annotated[str, _choice(("sigmoid", "isotonic"))]
    reliability_bins: Annotated[float, _num(low=2, high=50)]


class _ServiceableSpec(Strict):
    min_fit: Annotated[float, _num(low=0.0, high=100.0)]
    states: Annotated[tuple[str, ...] | None, PlainValidator(_maybe_names)] = None


class _PotentialSpec(Strict):
    method: Annotated[str, _choice(("auto", "seats", "learned"))]
    min_won_deals: Annotated[float, _num(low=2)]
    seat_share_by_industry: dict[str, Share]
    default_seat_share: Share
    price_per_seat_by_segment: dict[str, NonNegative]
    default_price_per_seat: NonNegative
    max_seats: Annotated[float, _num(low=1.0)]
    serviceable: _ServiceableSpec


class _ThresholdsSpec(Strict):
    a: Annotated[float, _num(low=0, high=100)]
    b: Annotated[float, _num(low=0, high=100)]

    @field_validator("b")
    @classmethod
    def _b_below_a(cls, b: float, info: Any) -> float:
        a = info.data.get("a")
        if a is not None and b > a:
            raise fail(f"({b:g}) must not exceed a ({a:g})")
        return b


def _tier_weights(value: dict[str, float]) -> dict[str, float]:
    if unknown := set(value) - {"fit", "propensity", "potential"}:
        raise fail(f"knows fit, propensity, potential; got {sorted(unknown)}")
    if sum(value.values()) <= 0:
        raise fail("must not all be zero")
    return value


class _TiersSpec(Strict):
    weights: Annotated[dict[str, NonNegative], AfterValidator(_tier_weights)]
    thresholds: _ThresholdsSpec


class _TierWorkSpec(Strict):
    visits_per_year: NonNegative
    visit_hours: NonNegative
    calls_per_year: NonNegative
    call_hours: NonNegative


class _PerTierSpec(Strict):
    A: _TierWorkSpec
    B: _TierWorkSpec
    C: _TierWorkSpec


class _WorkloadSpec(Strict):
    per_tier: _PerTierSpec
    road_factor: Annotated[float, _num(low=1.0)]
    speed_mph: Annotated[float, _num(low=1.0)]
    default_travel_miles: NonNegative
    max_travel_miles: NonNegative


class _CapacitySpec(Strict):
    hours_per_week: Annotated[float, _num(low=1.0, high=168.0)]
    weeks_per_year: Annotated[float, _num(low=1.0, high=52.0)]
    utilisation: Annotated[float, _num(low=0.01, high=1.0)]


class _MarketSpec(Strict):
    activity_days: Annotated[float, _num(low=1)]
    seasonality_alpha: Share
    seasonality_min_eta2: Share


class _ConfigSpec(Strict):
    version: Annotated[int, PlainValidator(_version)] = 1
    fit: _FitSpec
    propensity: _PropensitySpec
    potential: _PotentialSpec
    tiers: _TiersSpec
    workload: _WorkloadSpec
    capacity: _CapacitySpec
    market: _MarketSpec

    @field_validator("fit")
    @classmethod
    def _some_weight(cls, fit: _FitSpec) -> _FitSpec:
        if not fit.factors or sum(f.weight for f in fit.factors.values()) <= 0:
            raise fail("needs at least one factor with a positive weight")
        return fit


def _version(value: Any) -> int:
    if value != 1:
        raise fail(f"unsupported configuration version {value!r}; this release reads 1")
    return 1


def _config_from(spec: _ConfigSpec, source: str) -> ScoringConfig:
    factors = tuple(
        FitFactor(
            name=name,
            column=f.column or name,
            weight=f.weight,
            label=f.label,
            format=f.format,
            values=(
                None
                if f.values is None
                else tuple((k.strip().lower(), v) for k, v in f.values.items())
            ),
            bands=f.bands,
            default=f.default,
            missing=f.missing,
        )
        for name, f in spec.fit.factors.items()
    )
    p = spec.propensity
    q = spec.potential
    w = spec.workload
    return ScoringConfig(
        fit=factors,
        propensity=PropensityConfig(
            mode=p.mode,
            cutoff=p.cutoff,
            holdout_fraction=p.holdout_fraction,
            min_train_outcomes=int(p.min_train_outcomes),
            min_test_outcomes=int(p.min_test_outcomes),
            categorical=p.categorical,
            numeric_log=p.numeric_log,
            signals=p.signals,
            activity_windows_days=p.activity_windows_days,
            channels=p.channels,
            regularization_c=p.regularization_c,
            recency_half_life_days=p.recency_half_life_days,
            calibration=p.calibration,
            reliability_bins=int(p.reliability_bins),
        ),
        potential=PotentialConfig(
            method=q.method,
            min_won_deals=int(q.min_won_deals),
            seat_share_by_industry=dict(q.seat_share_by_industry),
            default_seat_share=q.default_seat_share,
            price_per_seat_by_segment=dict(q.price_per_seat_by_segment),
            default_price_per_seat=q.default_price_per_seat,
            max_seats=q.max_seats,
            serviceable_min_fit=q.serviceable.min_fit,
            serviceable_states=q.serviceable.states,
        ),
        tiers=TierConfig(
            weights=dict(spec.tiers.weights),
            threshold_a=spec.tiers.thresholds.a,
            threshold_b=spec.tiers.thresholds.b,
        ),
        workload=WorkloadConfig(
            per_tier={
                tier: TierWork(
                    visits_per_year=r.visits_per_year,
                    visit_hours=r.visit_hours,
                    calls_per_year=r.calls_per_year,
                    call_hours=r.call_hours,
                )
                for tier, r in (
                    ("A", w.per_tier.A),
                    ("B", w.per_tier.B),
                    ("C", w.per_tier.C),
                )
            },
            road_factor=w.road_factor,
            speed_mph=w.speed_mph,
            default_travel_miles=w.default_travel_miles,
            max_travel_miles=w.max_travel_miles,
        ),
        capacity=CapacityConfig(
            hours_per_week=spec.capacity.hours_per_week,
            weeks_per_year=spec.capacity.weeks_per_year,
            utilisation=spec.capacity.utilisation,
        ),
        market=MarketConfig(
            activity_days=int(spec.market.activity_days),
            seasonality_alpha=spec.market.seasonality_alpha,
            seasonality_min_eta2=spec.market.seasonality_min_eta2,
        ),
        source=source,
    )


def parse_config(
    data: dict[str, Any],
    *,
    source: str = "configuration",
    line_of: Callable[[str], tuple[str, int | None]] | None = None,
) -> ScoringConfig:
    """Validate a configuration mapping (already merged over the default).

    ``line_of(key path)`` says which file and line a value came from, for messages.
    Raises :class:`ConfigError` listing every problem as ``FILE:LINE: key: reason``.
    """
    try:
        spec = _ConfigSpec.model_validate(data)
    except PydanticValidationError as exc:
        problems = pydantic_problems(exc, source=source, line_of=lambda _: None)
        shown_problems = []
        for p in problems:
            where, line = line_of(p.column or "") if line_of else (source, None)
            at = f"{where}:{line}" if line is not None else where
            shown_problems.append(f"{at}: {p.column or 'the file'}: {p.reason}")
        raise ConfigError(
            f"{source}: the scoring configuration has {len(problems)} problem(s):\n"
            + "\n".join(f"  - {text}" for text in shown_problems)
        ) from None
    return _config_from(spec, source)


def default_config_dict() -> dict[str, Any]:
    data = load_yaml(default_config_text(), source=DEFAULT_CONFIG_NAME).data
    assert isinstance(data, dict)
    return data


def load_config(
    path: str | Path | None = None, *, overrides: dict[str, Any] | None = None
) -> ScoringConfig:
    """The default configuration with the YAML file at ``path`` (and ``overrides``) laid over.

    The file is read within the limits of :func:`territorial.bounded.load_yaml` (no
    aliases, bounded size and depth). Raises :class:`ConfigError` when the file is
    missing, is not YAML, or a value is wrong: each problem names the file, the line
    and the key.
    """
    default = load_yaml(default_config_text(), source=DEFAULT_CONFIG_NAME)
    data = default.data
    docs: list[YamlDocument] = []
    source = "default configuration"
    if path is not None:
        path = Path(path)
        try:
            text = read_text_bounded(path, max_bytes=YAML_MAX_CHARS, what="scoring configuration")
        except FileNotFoundError as exc:
            raise ConfigError(f"scoring configuration {path} does not exist") from exc
        try:
            user = load_yaml(text, source=str(path))
        except ValidationError as exc:
            raise ConfigError(f"scoring configuration {path} is not valid YAML: {exc}") from exc
        if user.data is None:
            user.data = {}
        if not isinstance(user.data, dict):
            raise ConfigError(f"scoring configuration {path} must be a mapping of sections")
        data = _merge(data, user.data)
        docs.append(user)
        source = str(path)
    if overrides:
        data = _merge(data, overrides)

    def line_of(key: str) -> tuple[str, int | None]:
        # The newest layer that holds the key (or its section) says where it came from.
        for doc in reversed(docs):
            if key in doc.lines or _section(key) in doc.lines:
                return doc.source, doc.line(key)
        if overrides:
            return "overrides", None
        return DEFAULT_CONFIG_NAME, default.line(key)

    return parse_config(data, source=source, line_of=line_of)


def _section(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else key
