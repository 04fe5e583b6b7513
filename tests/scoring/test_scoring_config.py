"""Scoring configuration: the default loads, user files merge over it, errors name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from territorial.errors import ConfigError
from territorial.scoring.config import default_config_text, load_config


def test_default_config_loads_and_is_documented() -> None:
    config = load_config()
    assert {f.name for f in config.fit} >= {"industry", "employees", "annual_revenue", "region"}
    assert config.tiers.threshold_a > config.tiers.threshold_b
    # Every top-level section is explained by a comment block in the shipped file.
    text = default_config_text()
    for section in (
        "fit:",
        "propensity:",
        "potential:",
        "tiers:",
        "workload:",
        "capacity:",
        "market:",
    ):
        assert section in text
    assert text.count("#") > 40


def test_user_file_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "scoring.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "fit": {"factors": {"technology": None, "industry": {"weight": 50}}},
                "tiers": {"thresholds": {"a": 80}},
            }
        )
    )
    config = load_config(path)
    names = [f.name for f in config.fit]
    assert "technology" not in names
    assert next(f for f in config.fit if f.name == "industry").weight == 50
    assert config.tiers.threshold_a == 80
    assert config.tiers.threshold_b == load_config().tiers.threshold_b


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tiers": {"thresholds": {"a": 40, "b": 60}}}, "tiers.thresholds.b"),
        ({"fit": {"factors": {"industry": {"weight": "heavy"}}}}, "fit.factors.industry.weight"),
        ({"fit": {"factors": {"employees": {"bands": [[100, 0.5], [10, 0.9]]}}}}, "increase"),
        ({"fit": {"factors": {"employees": {"bands": [[0, 1.5]]}}}}, "bands[0]"),
        ({"fit": {"factors": {"industry": {"label": "no placeholder"}}}}, "label"),
        ({"propensity": {"mode": "sometimes"}}, "propensity.mode"),
        ({"propensity": {"cutoff": "yesterday"}}, "propensity.cutoff"),
        ({"capacity": {"utilisation": 1.5}}, "capacity.utilisation"),
        ({"potential": {"method": "guess"}}, "potential.method"),
        ({"tiers": {"weights": {"luck": 1.0}}}, "tiers.weights"),
    ],
)
def test_bad_values_are_refused_with_the_key(override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(overrides=override)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("fit: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)
