"""Input frames in the canonical shape scoring reads (the columns of ``store/tables.py``).

Adapters (the store reader, the sample generator, a test) hand over pandas frames;
these functions add missing optional columns, coerce types, and flatten the accounts'
``attributes`` dicts into columns so extra attributes (technology, web_visits_30d,
hiring ...) can be used by the fit score and the propensity model like core columns.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from territorial.errors import ValidationError

ACCOUNT_COLUMNS: dict[str, str] = {
    "id": "str",
    "name": "str",
    "postal_code": "str",
    "city": "str",
    "state": "str",
    "country": "str",
    "latitude": "float",
    "longitude": "float",
    "industry": "str",
    "employees": "float",
    "annual_revenue": "float",
    "segment": "str",
    "owner_id": "str",
}
REP_COLUMNS: dict[str, str] = {
    "id": "str",
    "name": "str",
    "home_latitude": "float",
    "home_longitude": "float",
    "capacity_hours": "float",
    "active": "bool",
}
OPPORTUNITY_COLUMNS: dict[str, str] = {
    "id": "str",
    "account_id": "str",
    "amount": "float",
    "created_date": "date",
    "close_date": "date",
    "is_closed": "bool",
    "is_won": "bool",
}
ACTIVITY_COLUMNS: dict[str, str] = {
    "account_id": "str",
    "channel": "str",
    "occurred_at": "date",
    "duration_minutes": "float",
}


def _coerce(
    frame: pd.DataFrame, columns: dict[str, str], *, required: tuple[str, ...]
) -> pd.DataFrame:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError(f"input frame lacks required column(s) {missing}")
    out = frame.copy()
    for name, kind in columns.items():
        if name not in out.columns:
            if kind == "bool":
                out[name] = name == "active"  # a rep is active unless told otherwise
            else:
                out[name] = np.nan
        col = out[name]
        if kind == "float":
            out[name] = pd.to_numeric(col, errors="coerce").astype(float)
        elif kind == "date":
            out[name] = pd.to_datetime(col, errors="coerce", utc=False)
            if getattr(out[name].dt, "tz", None) is not None:
                out[name] = out[name].dt.tz_convert(None)
            out[name] = out[name].astype("datetime64[ns]")
        elif kind == "bool":
            out[name] = col.fillna(False).astype(bool)
        elif kind == "str":
            # Python-object strings: scoring hashes and compares them many times, which is
            # several times faster than on pandas 3's Arrow-backed ``str`` dtype.
            text = np.array(col.to_numpy(dtype=object, na_value=None), dtype=object)
            present = ~pd.isna(text)
            if present.any() and not all(isinstance(v, str) for v in text[present][:1]):
                text[present] = text[present].astype(str)
            text[~present] = None
            out[name] = pd.Series(text, index=out.index, dtype=object)
    return out


def _flatten_attributes(frame: pd.DataFrame) -> pd.DataFrame:
    if "attributes" not in frame.columns:
        return frame
    records = [a if isinstance(a, dict) else {} for a in frame["attributes"].tolist()]
    extra = pd.DataFrame.from_records(records, index=frame.index)
    new = [c for c in extra.columns if c not in frame.columns]
    clashes = [c for c in extra.columns if c in frame.columns]
    if clashes:
        warnings.warn(
            f"account attributes {clashes} shadow core columns and are ignored",
            stacklevel=3,
        )
    return pd.concat([frame.drop(columns=["attributes"]), extra[new]], axis=1)


def _objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed text columns (extra attributes) as Python-object columns."""
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.StringDtype) or frame[name].dtype == "str":
            values = frame[name].to_numpy(dtype=object, na_value=None)
            frame[name] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def prepare_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    """Accounts with every canonical column, numbers as floats and attributes as columns.

    A missing ``segment`` is derived from ``employees`` like
    :func:`territorial.domain.model.segment_for_employees` (Enterprise 1,000+, Mid-Market 100+).
    """
    out = _objects(_coerce(_flatten_attributes(accounts), ACCOUNT_COLUMNS, required=("id",)))
    employees = out["employees"].to_numpy()
    derived = np.select(
        [employees >= 1000, employees >= 100, employees >= 0],
        ["Enterprise", "Mid-Market", "SMB"],
        "",
    )
    fill = out["segment"].isna().to_numpy() & (derived != "")
    if fill.any():
        out.loc[fill, "segment"] = derived[fill]
    if out["id"].duplicated().any():
        dupes = out.loc[out["id"].duplicated(), "id"].head(5).tolist()
        raise ValidationError(f"account ids must be unique; repeated: {dupes}")
    return out.reset_index(drop=True)


def prepare_reps(reps: pd.DataFrame | None) -> pd.DataFrame:
    """Reps with home coordinates (degrees), weekly capacity (hours) and ``active``."""
    if reps is None:
        reps = pd.DataFrame({"id": pd.Series([], dtype=object)})
    return _coerce(reps, REP_COLUMNS, required=("id",)).reset_index(drop=True)


def prepare_opportunities(opportunities: pd.DataFrame | None) -> pd.DataFrame:
    """Opportunities with dates as ``datetime64`` and amounts in dollars."""
    if opportunities is None:
        opportunities = pd.DataFrame({"account_id": pd.Series([], dtype=object)})
    return _coerce(opportunities, OPPORTUNITY_COLUMNS, required=("account_id",)).reset_index(
        drop=True
    )


def prepare_activities(activities: pd.DataFrame | None) -> pd.DataFrame:
    """Activities with ``occurred_at`` as ``datetime64`` and channel names."""
    if activities is None:
        activities = pd.DataFrame({"account_id": pd.Series([], dtype=object)})
    return _coerce(activities, ACTIVITY_COLUMNS, required=("account_id",)).reset_index(drop=True)
