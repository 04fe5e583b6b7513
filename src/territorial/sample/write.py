"""Write the sample company as CSV, Parquet or Excel files an import can read back.

CSV: UTF-8, header row with the canonical column names, ISO dates (``YYYY-MM-DD``),
ISO datetimes (``YYYY-MM-DDTHH:MM:SS``), booleans ``true``/``false``, empty cells for
missing values. Output is byte-identical for the same seed.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from territorial.errors import ConfigError
from territorial.sample.generate import DEFAULT_AS_OF, Step, generate_tables

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("csv", "parquet", "xlsx")

#: The folder (inside the output folder) of the leads file.
LEADS_FOLDER = "leads"

#: Excel's sheet limit, header row included.
EXCEL_MAX_ROWS = 1_048_576

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = datetime(2026, 1, 1)


def _iso_datetimes(column: pa.ChunkedArray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS`` text for a timestamp column (whole seconds).

    Much faster than ``strftime`` on millions of rows: the day part and the time part
    each index a small pool of pre-formatted strings.
    """
    values = column.cast(pa.timestamp("s")).combine_chunks()
    valid = np.asarray(values.is_valid(), dtype=bool)
    seconds = np.asarray(values.fill_null(0).cast(pa.int64()), dtype=np.int64)
    if len(seconds) == 0:
        return pa.array([], type=pa.string())
    days, time_of_day = np.divmod(seconds, 86_400)
    first_day = int(days.min())
    day_pool = np.datetime_as_string(
        np.arange(first_day, int(days.max()) + 1).astype("datetime64[D]")
    )
    day_text = pa.array([f"{d}T" for d in day_pool.tolist()], type=pa.string())
    time_text = pa.array(
        [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)],
        type=pa.string(),
    )
    text = pc.binary_join_element_wise(
        day_text.take(pa.array(days - first_day)), time_text.take(pa.array(time_of_day)), ""
    )
    return text if valid.all() else pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps as ISO text with a ``T`` (Arrow's CSV writer would use a space)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, _iso_datetimes(table.column(i)))
    return table


def _write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(
        _for_csv(table),
        path,
        # Arrow's default batch (1,024 rows) is much faster here than big batches.
        write_options=pacsv.WriteOptions(include_header=True),
    )


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def _check_excel_rows(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        if table.num_rows + 1 > EXCEL_MAX_ROWS:
            raise ConfigError(
                f"{name} has {table.num_rows:,} rows but an Excel sheet holds at most "
                f"{EXCEL_MAX_ROWS - 1:,}; use --format csv or parquet"
                + (" (or --no-leads)" if name == "leads" else "")
            )


def _write_xlsx(table: pa.Table, path: Path, sheet: str) -> None:
    """One sheet, header row first; zip timestamps fixed so equal data gives equal bytes."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    workbook.properties.created = _FIXED_DOC_TIME
    workbook.properties.modified = _FIXED_DOC_TIME
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(table.column_names)
    for batch in table.to_batches(max_chunksize=10_000):
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            worksheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl stamps the zip members and the "modified" property with the wall clock.
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl sets "modified" to now
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>2026-01-01T00:00:00Z\g<2>",
                    data,
                )
            target.writestr(fixed, data)


def check_format(fmt: str, *, accounts: int | None = None) -> str:
    """The format name if it is one we write; a ConfigError naming the choices if not."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and accounts is not None and accounts + 1 > EXCEL_MAX_ROWS:
        raise ConfigError(
            f"{accounts:,} accounts do not fit an Excel sheet (at most "
            f"{EXCEL_MAX_ROWS - 1:,} rows); use --format csv or parquet"
        )
    return fmt


def write_tables(
    tables: dict[str, pa.Table], out_dir: Path, *, fmt: str = "csv"
) -> dict[str, Path]:
    """Write Arrow tables as ``<name>.<fmt>`` files in ``out_dir``; returns the paths."""
    check_format(fmt)
    if fmt == "xlsx":
        _check_excel_rows(tables)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The leads go in a folder of their own: ``territorial import OUT`` reads the CRM
    # files of OUT only, ``territorial route OUT/leads/leads.csv`` routes the leads.
    paths = {
        name: (out_dir / LEADS_FOLDER if name == "leads" else out_dir) / f"{name}.{fmt}"
        for name in tables
    }
    for path in paths.values():
        path.parent.mkdir(exist_ok=True)

    def write_one(name: str) -> None:
        table, path = tables[name], paths[name]
        if fmt == "csv":
            _write_csv(table, path)
        elif fmt == "parquet":
            _write_parquet(table, path)
        else:
            _write_xlsx(table, path, name)
        logger.info("wrote %s rows to %s", f"{table.num_rows:,}", path)

    # Arrow writers release the GIL: two files at a time use both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(write_one, paths))
    return paths


def write_sample_company(
    out_dir: Path,
    *,
    accounts: int,
    reps: int,
    seed: int = 0,
    fmt: str = "csv",
    years: int = 3,
    as_of: date = DEFAULT_AS_OF,
    on_step: Step | None = None,
    leads: bool = True,
) -> dict[str, Path]:
    """Generate a sample company and write ``accounts``, ``reps``, ``opportunities`` and
    ``activities`` files (``.csv``, ``.parquet`` or ``.xlsx``) into ``out_dir``, and the
    ``leads`` file into ``out_dir/leads`` (unless ``leads`` is false).

    Returns the path of each file by entity name. The same arguments always give
    byte-identical files.
    """
    check_format(fmt, accounts=accounts)
    tables = generate_tables(
        accounts=accounts, reps=reps, seed=seed, years=years, as_of=as_of, on_step=on_step,
        leads=leads,
    )  # fmt: skip
    if on_step is not None:
        on_step(f"writing {fmt.upper()} files")
    return write_tables(tables, Path(out_dir), fmt=fmt)
