"""Tables out: CSV or XLSX, written whole or not at all (also as bytes for downloads)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from territorial.errors import ConfigError

FORMATS = ("csv", "xlsx")


def table_bytes(frame: pd.DataFrame, *, fmt: str, sheet: str = "table") -> bytes:
    """``frame`` as CSV (UTF-8) or XLSX bytes."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name=sheet[:31])
        return buffer.getvalue()
    raise ConfigError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")


def check_out_path(path: str | Path) -> tuple[Path, str]:
    """``path`` and its format (from the extension), or :class:`ConfigError`."""
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"--out {str(path)!r} must end in .csv or .xlsx")
    if not out.parent.exists():
        raise ConfigError(f"folder {str(out.parent)!r} of --out does not exist")
    return out, fmt


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet: str = "table") -> Path:
    """Write ``frame`` to ``path`` (.csv or .xlsx) through a temporary file."""
    out, fmt = check_out_path(path)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(table_bytes(frame, fmt=fmt, sheet=sheet))
    partial.replace(out)
    return out


__all__ = ["FORMATS", "check_out_path", "table_bytes", "write_table"]
