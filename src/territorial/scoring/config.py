"""The scoring configuration: one YAML file, documented, merged over the shipped default.

``load_config(path)`` reads the user's file, lays it over ``default_config.yaml`` (so a
user file only needs the keys it changes) and validates everything at once, failing
with :class:`~territorial.errors.ConfigError` naming the key and the value.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from territorial.errors import ConfigError

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


class _Reader:
    """Typed access to a nested dict that names the full key in every error."""

    def __init__(self, data: Any, where: str, source: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: {where or 'the file'} must be a mapping, got {data!r}")
        self.data = data
        self.where = where
        self.source = source

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self._key(key)} {message}")

    def sub(self, key: str) -> _Reader:
        if key not in self.data:
            raise self.fail(key, "is missing")
        return _Reader(self.data[key], self._key(key), self.source)

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is missing")
            return default
        return self.data[key]

    def number(
        self,
        key: str,
        *,
        low: float | None = None,
        high: float | None = None,
        default: Any = ...,
        allow_none: bool = False,
    ) -> float:
        value = self.raw(key, default)
        if value is None and allow_none:
            return None  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {value!r}")
        value = float(value)
        if low is not None and value < low:
            raise self.fail(key, f"must be at least {low:g}, got {value:g}")
        if high is not None and value > high:
            raise self.fail(key, f"must be at most {high:g}, got {value:g}")
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.raw(key)
        if value not in options:
            raise self.fail(key, f"must be one of {', '.join(options)}; got {value!r}")
        return str(value)

    def strings(self, key: str, *, allow_none: bool = False) -> tuple[str, ...] | None:
        value = self.raw(key, None if allow_none else ...)
        if value is None and allow_none:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of names, got {value!r}")
        return tuple(value)

    def shares(self, key: str, *, high: float | None = 1.0) -> dict[str, float]:
        sub = self.sub(key)
        return {str(k): sub.number(str(k), low=0.0, high=high) for k in sub.data}


def _fit_factor(name: str, reader: _Reader) -> FitFactor:
    column = reader.raw("column", name)
    if not isinstance(column, str) or not column:
        raise reader.fail("column", f"must be a column name, got {column!r}")
    values = bands = None
    if "values" in reader.data and "bands" in reader.data:
        raise reader.fail("values", "and bands cannot both be given; pick one")
    if "values" in reader.data:
        shares = reader.shares("values")
        values = tuple((k.strip().lower(), v) for k, v in shares.items())
    elif "bands" in reader.data:
        raw = reader.raw("bands")
        if not isinstance(raw, list) or not raw:
            raise reader.fail("bands", f"must be a list of [lower_bound, share] pairs, got {raw!r}")
        parsed = []
        for i, pair in enumerate(raw):
            ok = (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pair)
            )
            if not ok or not 0.0 <= pair[1] <= 1.0:
                raise reader.fail(
                    f"bands[{i}]",
                    f"must be [lower_bound, share] with share in [0, 1], got {pair!r}",
                )
            parsed.append((float(pair[0]), float(pair[1])))
        lows = [p[0] for p in parsed]
        if lows != sorted(lows) or len(set(lows)) != len(lows):
            raise reader.fail("bands", f"lower bounds must increase strictly, got {lows}")
        bands = tuple(parsed)
    else:
        raise reader.fail("values", "or bands must be given")
    label = reader.raw("label", "{value}")
    if not isinstance(label, str) or label.count("{value}") != 1:
        raise reader.fail("label", f"must contain {{value}} exactly once, got {label!r}")
    fmt = reader.raw("format", "text")
    if fmt not in FORMATS:
        raise reader.fail("format", f"must be one of {', '.join(FORMATS)}; got {fmt!r}")
    return FitFactor(
        name=name,
        column=column,
        weight=reader.number("weight", low=0.0),
        label=label,
        format=fmt,
        values=values,
        bands=bands,
        default=reader.number("default", low=0.0, high=1.0, default=0.0),
        missing=reader.number("missing", low=0.0, high=1.0, default=0.0),
    )


def _parse_date(value: Any, reader: _Reader, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise reader.fail(key, f"must be a date YYYY-MM-DD, got {value!r}") from exc


def parse_config(data: dict[str, Any], *, source: str = "configuration") -> ScoringConfig:
    """Validate a configuration mapping (already merged over the default)."""
    top = _Reader(data, "", source)

    fit = top.sub("fit").sub("factors")
    factors = tuple(_fit_factor(str(n), fit.sub(str(n))) for n in fit.data)
    if not factors or sum(f.weight for f in factors) <= 0:
        raise fit.fail("", "need at least one factor with a positive weight")

    p = top.sub("propensity")
    windows = p.raw("activity_windows_days")
    if not isinstance(windows, list) or not all(isinstance(w, int) and w > 0 for w in windows):
        raise p.fail("activity_windows_days", f"must be a list of positive days, got {windows!r}")
    half_life = p.raw("recency_half_life_days", None)
    if half_life is not None:
        half_life = p.number("recency_half_life_days", low=1.0)
    propensity = PropensityConfig(
        mode=p.choice("mode", ("auto", "required", "off")),
        cutoff=_parse_date(p.raw("cutoff", None), p, "cutoff"),
        holdout_fraction=p.number("holdout_fraction", low=0.05, high=0.9),
        min_train_outcomes=int(p.number("min_train_outcomes", low=1)),
        min_test_outcomes=int(p.number("min_test_outcomes", low=1)),
        categorical=p.strings("categorical") or (),
        numeric_log=p.strings("numeric_log") or (),
        signals=p.strings("signals") or (),
        activity_windows_days=tuple(windows),
        channels=p.strings("channels") or (),
        regularization_c=p.number("regularization_c", low=1e-6),
        recency_half_life_days=half_life,
        calibration=p.choice("calibration", ("sigmoid", "isotonic")),
        reliability_bins=int(p.number("reliability_bins", low=2, high=50)),
    )

    q = top.sub("potential")
    serviceable = q.sub("serviceable")
    potential = PotentialConfig(
        method=q.choice("method", ("auto", "seats", "learned")),
        min_won_deals=int(q.number("min_won_deals", low=2)),
        seat_share_by_industry=q.shares("seat_share_by_industry"),
        default_seat_share=q.number("default_seat_share", low=0.0, high=1.0),
        price_per_seat_by_segment=q.shares("price_per_seat_by_segment", high=None),
        default_price_per_seat=q.number("default_price_per_seat", low=0.0),
        max_seats=q.number("max_seats", low=1.0),
        serviceable_min_fit=serviceable.number("min_fit", low=0.0, high=100.0),
        serviceable_states=serviceable.strings("states", allow_none=True),
    )

    t = top.sub("tiers")
    weights = t.shares("weights", high=None)
    unknown = set(weights) - {"fit", "propensity", "potential"}
    if unknown:
        raise t.fail("weights", f"knows fit, propensity, potential; got {sorted(unknown)}")
    if sum(weights.values()) <= 0:
        raise t.fail("weights", "must not all be zero")
    th = t.sub("thresholds")
    a, b = th.number("a", low=0, high=100), th.number("b", low=0, high=100)
    if b > a:
        raise th.fail("b", f"({b:g}) must not exceed a ({a:g})")
    tiers = TierConfig(weights=weights, threshold_a=a, threshold_b=b)

    w = top.sub("workload")
    per = w.sub("per_tier")
    per_tier = {}
    for tier in ("A", "B", "C"):
        r = per.sub(tier)
        per_tier[tier] = TierWork(
            visits_per_year=r.number("visits_per_year", low=0),
            visit_hours=r.number("visit_hours", low=0),
            calls_per_year=r.number("calls_per_year", low=0),
            call_hours=r.number("call_hours", low=0),
        )
    workload = WorkloadConfig(
        per_tier=per_tier,
        road_factor=w.number("road_factor", low=1.0),
        speed_mph=w.number("speed_mph", low=1.0),
        default_travel_miles=w.number("default_travel_miles", low=0.0),
        max_travel_miles=w.number("max_travel_miles", low=0.0),
    )

    c = top.sub("capacity")
    capacity = CapacityConfig(
        hours_per_week=c.number("hours_per_week", low=1.0, high=168.0),
        weeks_per_year=c.number("weeks_per_year", low=1.0, high=52.0),
        utilisation=c.number("utilisation", low=0.01, high=1.0),
    )
    m = top.sub("market")
    market = MarketConfig(
        activity_days=int(m.number("activity_days", low=1)),
        seasonality_alpha=m.number("seasonality_alpha", low=0.0, high=1.0),
        seasonality_min_eta2=m.number("seasonality_min_eta2", low=0.0, high=1.0),
    )
    return ScoringConfig(
        fit=factors,
        propensity=propensity,
        potential=potential,
        tiers=tiers,
        workload=workload,
        capacity=capacity,
        market=market,
        source=source,
    )


def default_config_dict() -> dict[str, Any]:
    return yaml.safe_load(default_config_text())


def load_config(
    path: str | Path | None = None, *, overrides: dict[str, Any] | None = None
) -> ScoringConfig:
    """The default configuration with the YAML file at ``path`` (and ``overrides``) laid over.

    Raises :class:`ConfigError` when the file is missing, is not YAML, or a value is wrong.
    """
    data = default_config_dict()
    source = "default configuration"
    if path is not None:
        path = Path(path)
        try:
            user = yaml.safe_load(path.read_text("utf-8")) or {}
        except FileNotFoundError as exc:
            raise ConfigError(f"scoring configuration {path} does not exist") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"scoring configuration {path} is not valid YAML: {exc}") from exc
        if not isinstance(user, dict):
            raise ConfigError(f"scoring configuration {path} must be a mapping of sections")
        data = _merge(data, user)
        source = str(path)
    if overrides:
        data = _merge(data, overrides)
    return parse_config(data, source=source)
