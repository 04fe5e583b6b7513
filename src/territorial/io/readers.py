"""Reading CSV, XLSX and Parquet files into frames of text cells.

Every cell comes back as text (pandas ``str`` dtype, backed by Arrow) so validation
sees exactly what the file says and can name the offending value. Whole-file
problems (empty file, wrong encoding, ragged rows) are returned as
:class:`~territorial.errors.Problem` values instead of being raised, so one import
reports every file's problems together.
"""

from __future__ import annotations

import codecs
import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from territorial.errors import Problem

log = logging.getLogger(__name__)

#: File name endings the importer reads.
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
DATA_SUFFIXES = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES

_CHUNK = 1 << 20


@dataclass(slots=True)
class RawTable:
    """One file as read: text cells, plus what was noticed while reading.

    ``frame`` is ``None`` when the file could not be read at all (then ``problems``
    says why). Row ``i`` of ``frame`` is spreadsheet row ``i + 2`` (header is row 1).
    """

    path: Path
    label: str
    frame: pd.DataFrame | None
    encoding: str | None = None
    delimiter: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: Spreadsheet row of each frame row when it is not simply ``index + 2``.
    row_numbers: list[int] | None = None


def read_table(path: Path, *, label: str | None = None) -> RawTable:
    """Read one CSV/TSV, XLSX or Parquet file; never raises for bad content."""
    label = label or path.name
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            return RawTable(path, label, None, problems=[_whole(label, "the file is empty")])
        if suffix in EXCEL_SUFFIXES:
            table = _read_excel(path, label)
        elif suffix in PARQUET_SUFFIXES:
            table = _read_parquet(path, label)
        else:
            table = _read_csv(path, label)
    except OSError as exc:
        return RawTable(path, label, None, problems=[_whole(label, f"cannot read: {exc}")])
    if table.frame is not None:
        _check_header(table)
    return table


def _whole(label: str, reason: str, *, severity: str = "error") -> Problem:
    return Problem(file=label, row=None, column=None, value=None, reason=reason, severity=severity)


# --- CSV -------------------------------------------------------------------------------


def detect_encoding(path: Path, label: str) -> tuple[str | None, Problem | None]:
    """``utf-8``, ``utf-8-sig``, ``utf-16`` or a problem naming the first undecodable line.

    The file is decoded in 1 MiB chunks so checking a large export costs no memory.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", None
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif len(head) >= 4 and head[1:2] == b"\0" and head[3:4] == b"\0":
            return "utf-16-le", None  # UTF-16 without a byte-order mark
        elif len(head) >= 4 and head[0:1] == b"\0" and head[2:3] == b"\0":
            return "utf-16-be", None
        else:
            encoding = "utf-8"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        line = 1
        while True:
            chunk = handle.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                line += chunk.count(b"\n", 0, max(exc.start, 0))
                bad = chunk[exc.start : exc.start + 4]
                return None, Problem(
                    file=label,
                    row=line,
                    column=None,
                    value=bad.hex(" "),
                    reason=(
                        f"line {line} is not valid UTF-8 or UTF-16 text (bytes shown in hex); "
                        "save the file as 'CSV UTF-8' and import again"
                    ),
                )
            if not chunk:
                return encoding, None
            line += chunk.count(b"\n")


def detect_delimiter(header: str) -> str:
    """The delimiter used by a header line: the most frequent of ``,`` ``;`` tab ``|``."""
    counts = {d: 0 for d in (",", ";", "\t", "|")}
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _first_line(path: Path, encoding: str) -> str:
    with path.open("r", encoding=encoding, newline="") as handle:
        return handle.readline(1 << 20)


def _read_csv(path: Path, label: str) -> RawTable:
    encoding, problem = detect_encoding(path, label)
    if encoding is None:
        return RawTable(path, label, None, problems=[problem] if problem else [])
    header_line = _first_line(path, encoding).lstrip("\ufeff")
    if not header_line.strip():
        return RawTable(
            path,
            label,
            None,
            encoding=encoding,
            problems=[_whole(label, "the file is empty (no header line)")],
        )
    delimiter = detect_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    names = [f"c{i}" for i in range(len(header))]
    table = RawTable(path, label, None, encoding=encoding, delimiter=delimiter)
    if delimiter == ";":
        table.warnings.append(
            _whole(
                label,
                "the file is semicolon-delimited; read with ';' as the delimiter",
                severity="warning",
            )
        )

    ragged: list[pacsv.InvalidRow] = []

    def on_bad_row(row: pacsv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"

    read_options = pacsv.ReadOptions(
        column_names=names,
        skip_rows=1,
        encoding="utf8" if encoding.startswith("utf-8") else encoding,
        block_size=16 << 20,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_bad_row
    )
    convert_options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    try:
        # Arrow skips a UTF-8 byte-order mark itself; the header is parsed above.
        arrow = pacsv.read_csv(
            path,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except pa.ArrowInvalid as exc:
        table.problems.append(_whole(label, f"cannot be read as CSV: {exc}"))
        return table
    if ragged:
        _locate_ragged_rows(table, path, encoding, delimiter, len(header))
    frame = arrow.to_pandas()
    frame.columns = pd.Index(header)
    table.frame = frame
    return table


def _locate_ragged_rows(
    table: RawTable, path: Path, encoding: str, delimiter: str, expected: int
) -> None:
    """Name each row with the wrong number of fields and renumber the rows kept.

    Only runs when Arrow skipped rows (an import that will be rejected anyway), so
    the slower pure-Python pass costs nothing on good files.
    """
    kept: list[int] = []
    with path.open("r", encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for number, fields in enumerate(reader, start=2):
            if not fields:
                continue
            if len(fields) == expected:
                kept.append(number)
                continue
            table.problems.append(
                Problem(
                    file=table.label,
                    row=number,
                    column=None,
                    value=delimiter.join(fields)[:80],
                    reason=f"the row has {len(fields)} fields where the header has {expected}",
                )
            )
    table.row_numbers = kept


# --- Excel and Parquet ------------------------------------------------------------------


def _read_excel(path: Path, label: str) -> RawTable:
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        return RawTable(
            path,
            label,
            None,
            problems=[_whole(label, f"cannot be read as an Excel workbook: {exc}")],
        )
    if frame.columns.size == 0:
        return RawTable(path, label, None, problems=[_whole(label, "the file is empty")])
    frame.columns = pd.Index([str(c) for c in frame.columns])
    frame = frame.astype("str")
    # Excel shows datetimes as "2024-01-15 00:00:00"; a midnight time is just a date.
    for column in frame.columns:
        frame[column] = frame[column].str.replace(
            r"^(\d{4}-\d\d-\d\d) 00:00:00$", r"\1", regex=True
        )
    return RawTable(path, label, frame)


def _arrow_to_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        import pyarrow.compute as pc

        return pc.binary_join(column.cast(pa.list_(pa.string())), "|")
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        import pyarrow.compute as pc

        fmt = "%Y-%m-%d" if pa.types.is_date(kind) else "%Y-%m-%dT%H:%M:%S"
        return pc.strftime(column, format=fmt)
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.chunked_array(
            [
                pa.array(
                    [None if v is None else str(v) for v in column.to_pylist()], type=pa.string()
                )
            ]
        )


def _read_parquet(path: Path, label: str) -> RawTable:
    try:
        arrow = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        return RawTable(
            path, label, None, problems=[_whole(label, f"cannot be read as Parquet: {exc}")]
        )
    if arrow.num_columns == 0:
        return RawTable(path, label, None, problems=[_whole(label, "the file is empty")])
    columns = {name: _arrow_to_text(arrow.column(name)) for name in arrow.column_names}
    frame = pa.table(columns).to_pandas()
    frame.columns = pd.Index(arrow.column_names)
    return RawTable(path, label, frame)


# --- header checks shared by every format -------------------------------------------------


def _check_header(table: RawTable) -> None:
    assert table.frame is not None
    names = [str(c).lstrip("\ufeff").strip() for c in table.frame.columns]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name or name.lower().startswith("unnamed:"):
            names[position - 1] = f"column {position}"
            continue
        if name in seen:
            table.problems.append(
                Problem(
                    file=table.label,
                    row=1,
                    column=name,
                    value=name,
                    reason=f"the header names column {name!r} twice "
                    f"(columns {seen[name]} and {position})",
                )
            )
            names[position - 1] = f"{name} (column {position})"
        seen.setdefault(name, position)
    table.frame.columns = pd.Index(names)
    if len(table.frame) == 0:
        table.warnings.append(
            _whole(table.label, "the file has a header but no data rows", severity="warning")
        )
