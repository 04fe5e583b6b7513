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


def tables_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    """Several tables as one XLSX workbook, a sheet each (named by the keys)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, frame in frames.items():
            frame.to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def table_paths(path: str | Path, names: list[str]) -> list[Path]:
    """Where :func:`write_tables` writes CSV tables: the first to ``path``, each other
    beside it as ``<stem>_<name>.csv``."""
    out = Path(path)
    return [out, *(out.with_name(f"{out.stem}_{name}.csv") for name in names[1:])]


def write_tables(frames: dict[str, pd.DataFrame], path: str | Path) -> list[Path]:
    """Write several tables: one workbook with a sheet each (.xlsx), or one CSV each
    (:func:`table_paths`); every file is written whole first, then all are put in place."""
    out, fmt = check_out_path(path)
    if fmt == "xlsx":
        contents = {out: tables_bytes(frames)}
    else:
        paths = table_paths(out, list(frames))
        contents = {
            p: table_bytes(frame, fmt="csv")
            for p, frame in zip(paths, frames.values(), strict=True)
        }
    partials = {p: p.with_name(p.name + ".partial") for p in contents}
    try:
        for p, data in contents.items():
            partials[p].write_bytes(data)
    except OSError:
        for partial in partials.values():
            partial.unlink(missing_ok=True)
        raise
    for p, partial in partials.items():
        partial.replace(p)
    return list(contents)


__all__ = [
    "FORMATS",
    "check_out_path",
    "table_bytes",
    "table_paths",
    "tables_bytes",
    "write_table",
    "write_tables",
]
