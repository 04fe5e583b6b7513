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
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

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
    #: The worksheet read (workbooks only) and every worksheet of the workbook.
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    #: What was done to read the file that the user should know (one sentence each).
    notes: list[str] = field(default_factory=list)
    #: Cells (spreadsheet row, column name) already reported as problems: validation
    #: does not report them again (no knock-on errors).
    reported_cells: set[tuple[int, str]] = field(default_factory=set)


def read_table(path: Path, *, label: str | None = None, sheet: str | None = None) -> RawTable:
    """Read one CSV/TSV, XLSX or Parquet file; never raises for bad content.

    ``sheet`` names the worksheet of a workbook to read (default: the first).
    """
    label = label or path.name
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            return RawTable(path, label, None, problems=[_whole(label, "the file is empty")])
        if suffix in EXCEL_SUFFIXES:
            table = _read_excel(path, label, sheet)
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


#: Lines Salesforce appends to a report exported as CSV (Classic "Details Only" export):
#: blank lines, a copyright line, "Confidential Information - Do Not Distribute",
#: "Generated By: ..." and the company name.
_SALESFORCE_FOOTER = re.compile(
    r"^(Copyright \(c\) \d{4}-\d{4} salesforce\.com|Confidential Information - Do Not "
    r"Distribute|Generated By:)",
    re.IGNORECASE,
)


def _locate_ragged_rows(
    table: RawTable, path: Path, encoding: str, delimiter: str, expected: int
) -> None:
    """Name each row with the wrong number of fields and renumber the rows kept.

    A Salesforce report footer (the one-field lines at the end of a report export) is
    not data: it is dropped and noted. Only runs when Arrow skipped rows, so the slower
    pure-Python pass costs nothing on good files.
    """
    kept: list[int] = []
    ragged: list[tuple[int, list[str]]] = []
    last = 1
    with path.open("r", encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        for number, fields in enumerate(reader, start=2):
            if not fields:
                continue
            last = number
            if len(fields) == expected:
                kept.append(number)
                continue
            ragged.append((number, fields))
    # The footer: the one-field lines after the last full row, holding Salesforce's marks.
    # It starts with an empty line, and every line after it has one field.
    after = [(n, f) for n, f in ragged if n > (kept[-1] if kept else 1)]
    blank = next((i for i, (_, f) in enumerate(after) if not "".join(f).strip()), None)
    tail = after[blank:] if blank is not None else []
    tail_start = tail[0][0] if tail else last + 1
    is_footer = bool(tail) and all(len(f) == 1 for _, f in tail)
    is_footer = is_footer and any(_SALESFORCE_FOOTER.match(f[0].strip()) for _, f in tail)
    if is_footer:
        table.notes.append(
            f"dropped the Salesforce report footer (rows {tail[0][0]}-{last}: copyright, "
            "confidentiality and 'Generated By' lines)"
        )
        ragged = [(n, f) for n, f in ragged if n < tail_start]
    for number, fields in ragged:
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


def _excel_text(value: Any) -> str | None:
    """A cell as the text a user sees: whole numbers without ``.0``, dates in ISO form."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _read_excel(path: Path, label: str, sheet: str | None) -> RawTable:
    """Read one worksheet (the first, or ``sheet``) with openpyxl's streaming reader.

    Duplicate header names are kept as written (so :func:`_check_header` rejects them
    as in CSV), fully empty rows are skipped with the rows kept numbered as in Excel,
    and formula cells Excel never computed (no saved value) are problems naming the
    cells, never silent blanks.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        return RawTable(
            path, label, None,
            problems=[_whole(label, f"cannot be read as an Excel workbook: {exc}")],
        )  # fmt: skip
    try:
        names = tuple(workbook.sheetnames)
        if sheet is None:
            chosen = names[0]
        else:
            chosen = next((n for n in names if n == sheet), None) or next(
                (n for n in names if n.casefold() == sheet.strip().casefold()), ""
            )
            if not chosen:
                return RawTable(
                    path, label, None, sheets=names,
                    problems=[_whole(label, f"the workbook has no sheet {sheet!r}; its sheets: "
                                            + ", ".join(repr(n) for n in names))],
                )  # fmt: skip
        rows = workbook[chosen].iter_rows(values_only=True)
        header = next(rows, None)
        kept: list[int] = []
        data: list[tuple[Any, ...]] = []
        for number, row in enumerate(rows, start=2):
            if any(v is not None and v != "" for v in row):
                kept.append(number)
                data.append(row)
    finally:
        workbook.close()
    table = RawTable(path, label, None, sheet=chosen, sheets=names)
    header_cells = list(header or ())
    while header_cells and header_cells[-1] in (None, ""):
        header_cells.pop()
    width = max([len(header_cells)] + [_last_filled(r) for r in data])
    if width == 0:
        table.problems.append(_whole(label, f"sheet {chosen!r} is empty"))
        return table
    names_row = [_excel_text(c) or "" for c in header_cells] + [""] * (width - len(header_cells))
    columns: dict[int, list[str | None]] = {}
    for position in range(width):
        cells = [r[position] if position < len(r) else None for r in data]
        if all(c is None or isinstance(c, str) for c in cells):
            columns[position] = cells
        else:
            columns[position] = [_excel_text(c) for c in cells]
    frame = pd.DataFrame({i: pd.array(values, dtype="str") for i, values in columns.items()})
    frame.columns = pd.Index(names_row)
    table.frame = frame
    if kept != list(range(2, len(kept) + 2)):
        table.row_numbers = kept
    if len(names) > 1:
        table.notes.append(f"read sheet {chosen!r} of {len(names)} ({', '.join(names)})")
    cell_problems = _formula_problems(path, label, chosen, names_row)
    table.problems.extend(cell_problems)
    table.reported_cells.update(
        (p.row, p.column) for p in cell_problems if p.row is not None and p.column is not None
    )
    return table


def _last_filled(row: tuple[Any, ...]) -> int:
    for position in range(len(row) - 1, -1, -1):
        if row[position] is not None and row[position] != "":
            return position + 1
    return 0


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding worksheet ``sheet`` (from workbook.xml and its relations)."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = None
    for node in book.iter(f"{{{_MAIN_NS}}}sheet"):
        if node.get("name") == sheet:
            rel_id = node.get(f"{{{_REL_NS}}}id")
    if rel_id is None:
        return None
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for node in rels.iter(f"{{{_PACKAGE_REL_NS}}}Relationship"):
        if node.get("Id") == rel_id:
            target = node.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def _formula_problems(path: Path, label: str, sheet: str, header: list[str]) -> list[Problem]:
    """Formula cells with no saved value, and cells holding an Excel error (``#DIV/0!``).

    openpyxl reads a formula's saved value; a workbook written by a program that does
    not compute formulas has none, and the cell would read as empty. The worksheet XML
    is scanned only when it has a formula at all.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return []
            with archive.open(part) as raw:
                found = False
                carry = b""
                while chunk := raw.read(_CHUNK):
                    if _HAS_FORMULA.search(carry + chunk):
                        found = True
                        break
                    carry = chunk[-8:]
            if not found:
                return []
            problems: list[Problem] = []
            with archive.open(part) as raw:
                for _, node in ElementTree.iterparse(raw, events=("end",)):
                    if node.tag != f"{{{_MAIN_NS}}}c":
                        continue
                    formula = node.find(f"{{{_MAIN_NS}}}f")
                    value = node.find(f"{{{_MAIN_NS}}}v")
                    ref = node.get("r", "")
                    # No <v>, or an empty one on a non-text cell: nothing was computed
                    # (a cached empty string is written as t="str" with an empty <v>).
                    uncached = value is None or (not value.text and node.get("t") != "str")
                    if formula is not None and uncached:
                        shown = "=" + (formula.text or "")
                        problems.append(_cell_problem(label, ref, header, shown,
                            f"cell {ref} holds a formula with no saved value (the workbook was "
                            "written by a program that does not compute formulas); open and "
                            "save it in Excel, or paste the values"))  # fmt: skip
                    elif node.get("t") == "e" and value is not None and value.text:
                        problems.append(_cell_problem(label, ref, header, value.text,
                            f"cell {ref} holds the Excel error {value.text}"))  # fmt: skip
                    node.clear()
            return problems
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        return [_whole(label, f"cannot check the workbook's formulas: {exc}")]


def _cell_problem(
    label: str, ref: str, header: list[str], value: str | None, reason: str
) -> Problem:
    match = _CELL_REF.match(ref)
    row = int(match.group(2)) if match else None
    position = _column_number(match.group(1)) if match else 0
    column = header[position - 1] if 0 < position <= len(header) else None
    return Problem(label, row, column or None, value, reason)


def sheet_headers(path: Path) -> dict[str, list[str]]:
    """The first row of every worksheet of a workbook (to say which sheet has the data)."""
    from openpyxl import load_workbook

    headers: dict[str, list[str]] = {}
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for name in workbook.sheetnames:
            first = next(workbook[name].iter_rows(max_row=1, values_only=True), ())
            headers[name] = [t for t in (_excel_text(c) for c in first) if t]
    finally:
        workbook.close()
    return headers


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
