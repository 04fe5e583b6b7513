"""Importing CRM exports: read every file, validate everything, then write once.

:func:`import_paths` is the one entry point (the CLI's ``territorial import`` and
notebooks call it). It never writes anything unless every file of the import is
valid, and then writes all of them in one transaction, recorded in ``imports`` so
that it can be undone (:func:`territorial.store.records.undo_import`).

Nothing is guessed silently: what each file holds (from its name, ``--kind`` or its
columns), the day/month order of ambiguous dates, decimal commas, CRM picklist values
mapped to Territorial's words and owners given by name are all reported as
:class:`~territorial.io.validate.Reading` values in the result and stored with the
import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from territorial.errors import ConfigError, Problem, ValidationError
from territorial.io.dates import DateFormat, parse_date_format
from territorial.io.mapping import (
    ENTITIES,
    REQUIRED,
    kind_from_name,
    load_mapping,
    match_columns,
    normalize_name,
    recognise_kind,
    validate_mapping,
)
from territorial.io.numbers import DECIMAL_MARKS
from territorial.io.readers import (
    DATA_SUFFIXES,
    EXCEL_SUFFIXES,
    RawTable,
    read_table,
    sheet_headers,
)
from territorial.io.validate import (
    DATES,
    DATETIMES,
    Reading,
    ReadOptions,
    ValidatedFile,
    unknown_references,
    validate_file,
)
from territorial.store.records import (
    EntityBatch,
    ImportSummary,
    ProgressCallback,
    read_entity_columns,
    referenced_account_ids,
    stored_ids,
    write_import,
)

log = logging.getLogger(__name__)

#: Called with (what is happening, units done, units in total).
Progress = Callable[[str, int, int], None]

#: Share of a table ``--replace`` may delete without ``--force`` (the default of the
#: ``import_replace_max_share`` setting).
DEFAULT_MAX_DELETE_SHARE = 0.20

#: References to reps, checked (and resolved by name) across files.
REP_REFERENCES: tuple[tuple[str, str], ...] = (
    ("accounts", "owner_id"),
    ("opportunities", "owner_id"),
    ("activities", "rep_id"),
    ("reps", "manager_id"),
)
#: References to accounts.
ACCOUNT_REFERENCES: tuple[tuple[str, str], ...] = (
    ("opportunities", "account_id"),
    ("activities", "account_id"),
)


@dataclass(frozen=True, slots=True)
class FileReport:
    """How one file was read: its entity and why, rows, encoding, delimiter, sheet and
    column mapping."""

    path: Path
    entity: str
    rows: int
    encoding: str | None
    delimiter: str | None
    columns: dict[str, str]
    extra_columns: tuple[str, ...]
    recognised_by: str = "file name"
    sheet: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "entity": self.entity,
            "rows": self.rows,
            "recognised_by": self.recognised_by,
            "sheet": self.sheet,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "columns": self.columns,
        }


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of :func:`import_paths`.

    ``counts`` are valid rows per entity; ``summary`` (``None`` on a dry run) says
    what was inserted, changed, left unchanged and deleted and the id of the
    ``imports`` record. ``readings`` are the decisions made while reading (what each
    file holds and why, date orders, decimal marks, mapped picklist values, owners
    given by name). ``seconds`` is wall-clock time of the whole import.
    """

    source: str
    files: tuple[FileReport, ...]
    counts: dict[str, int]
    warnings: tuple[Problem, ...]
    dry_run: bool
    replace: bool
    summary: ImportSummary | None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    readings: tuple[Reading, ...] = ()
    forced: bool = False


def expand_paths(paths: Sequence[Path | str]) -> list[Path]:
    """Files named directly plus the data files (CSV/TSV, XLSX, Parquet) of named folders."""
    if not paths:
        raise ConfigError("nothing to import: name files or a folder")
    files: list[Path] = []
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and not p.name.startswith(".")
            )  # fmt: skip
            if not found:
                raise ConfigError(f"folder {path} has no CSV, XLSX or Parquet files to import")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path} does not exist")
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique


def _labels(files: Sequence[Path]) -> dict[Path, str]:
    """Short names for messages: the file name, or a longer path when names repeat."""
    names = [p.name for p in files]
    return {
        p: p.name if names.count(p.name) == 1 else str(Path(p.parent.name) / p.name) for p in files
    }


def parse_date_formats(given: str | Sequence[str] | None) -> dict[str, DateFormat]:
    """``--date-format`` values: ``FORMAT`` for every date column or ``COLUMN=FORMAT``.

    Returns normalised column name (``""`` for all) -> :class:`DateFormat`.
    """
    if given is None:
        return {}
    items = [given] if isinstance(given, str) else list(given)
    out: dict[str, DateFormat] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if sep and value.strip() and "%" not in column:
            key = normalize_name(column.strip())
            if not key:
                raise ConfigError(f"--date-format {item!r}: name the column before '='")
            out[key] = parse_date_format(value)
        else:
            if "" in out:
                raise ConfigError(
                    "--date-format is given twice for every column; "
                    "use COLUMN=FORMAT to set one column"
                )
            out[""] = parse_date_format(item)
    return out


def import_paths(
    paths: Sequence[Path | str],
    *,
    engine: Engine,
    mapping: Path | str | Mapping[str, Mapping[str, str]] | None = None,
    kind: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    sheet: str | None = None,
    date_format: str | Sequence[str] | None = None,
    decimal: str | None = None,
    force: bool = False,
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE,
) -> ImportReport:
    """Import accounts, reps, opportunities and activities from CSV, XLSX or Parquet.

    ``paths`` are files or folders (every data file inside). Each file's entity comes
    from ``kind`` (for all of them), else its name (``accounts*``, ``reps*``/``users*``,
    ``opportunities*``/``opps*``/``deals*``, ``activities*``/``tasks*``/``events*``),
    else its columns (a Salesforce report ``report1712345678.csv``, a Data Loader
    ``extract.csv``, a HubSpot ``hubspot-crm-exports-...csv``); a file whose columns fit
    several entities equally is refused naming them. ``mapping`` (a YAML file or a
    dict ``{entity: {canonical column: source column}}``) overrides the built-in
    aliases. ``sheet`` picks a workbook's worksheet (default: the first).
    ``date_format`` (``dmy``, ``mdy``, ``ymd``, a ``strptime`` format, or
    ``COLUMN=FORMAT``, one or a list) overrides the per-column day/month decision;
    ``decimal`` (``"comma"`` or ``"point"``) the per-column decimal mark.

    Every file is validated first and every problem is collected; if there is any,
    :class:`ValidationError` is raised carrying all of them and the store is not
    touched. Otherwise all files are written in one transaction: rows are upserted by
    id, or, with ``replace``, each imported entity's rows are replaced wholesale.
    ``replace`` is refused when it would delete more than ``max_delete_share`` of a
    table or leave references dangling (accounts owned by reps it deletes,
    opportunities of accounts it deletes), unless ``force``; even then every deleted
    or changed row stays recoverable (``territorial import --undo ID``). ``dry_run``
    validates only. ``progress(step, done, total)`` is called as work proceeds.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    if kind is not None and kind not in ENTITIES:
        raise ConfigError(f"unknown kind {kind!r}; choose one of {', '.join(ENTITIES)}")
    if force and not replace:
        raise ConfigError("--force only applies to --replace (it allows a large deletion)")
    if not 0.0 <= max_delete_share <= 1.0:
        raise ConfigError(
            f"the share of a table --replace may delete must be between 0 and 1, "
            f"not {max_delete_share}"
        )
    mark: str | None = None
    if decimal is not None:
        mark = DECIMAL_MARKS.get(decimal.strip().lower(), decimal.strip())
        if mark not in (".", ","):
            raise ConfigError(f"--decimal {decimal!r}: use comma or point")
    date_formats = parse_date_formats(date_format)
    user_mapping: dict[str, dict[str, str]] = {}
    if isinstance(mapping, Path | str):
        user_mapping = load_mapping(mapping)
    elif mapping is not None:
        user_mapping = validate_mapping(mapping)
    files = expand_paths(paths)
    if sheet is not None:
        not_workbooks = [p.name for p in files if p.suffix.lower() not in EXCEL_SUFFIXES]
        if not_workbooks:
            raise ConfigError(
                f"--sheet picks a worksheet of an XLSX workbook; {', '.join(not_workbooks)} "
                "is not one (import workbooks and other files separately)"
            )
    labels = _labels(files)
    source = ", ".join(str(Path(p)) for p in paths)
    options = ReadOptions(date_formats=date_formats, decimal=mark)

    problems: list[Problem] = []
    warnings: list[Problem] = []
    readings: list[Reading] = []
    checked: list[ValidatedFile] = []
    raws: list[RawTable | None] = []
    reports: list[FileReport] = []
    for number, path in enumerate(files):
        label = labels[path]
        if progress is not None:
            progress(f"reading {label}", number, len(files))
        tick = time.perf_counter()
        raw = read_table(path, label=label, sheet=sheet)
        timings[f"read {label}"] = time.perf_counter() - tick
        entity, recognised_by = _entity_of(raw, kind=kind, mapping=user_mapping, problems=problems)
        if entity is None:
            problems.extend(raw.problems)
            continue
        readings.append(Reading(label, None, entity, recognised_by))
        tick = time.perf_counter()
        result = validate_file(
            raw, entity=entity, mapping=user_mapping.get(entity), options=options
        )
        timings[f"validate {label}"] = time.perf_counter() - tick
        if result.frame is None and raw.frame is not None and len(raw.sheets) > 1:
            result.problems.extend(_other_sheets(raw, entity, user_mapping))
        checked.append(result)
        # The text is kept only where dates may have to be read again (see below).
        raws.append(raw if result.defaulted_order is not None else None)
        reports.append(
            FileReport(
                path=path,
                entity=entity,
                rows=0 if result.frame is None else len(result.frame),
                encoding=raw.encoding,
                delimiter=raw.delimiter,
                columns=dict(result.match.source) if result.match else {},
                extra_columns=result.match.extra if result.match else (),
                recognised_by=recognised_by,
                sheet=raw.sheet,
            )
        )
    checked = _agree_on_date_orders(checked, raws, options, user_mapping)
    for result in checked:
        problems.extend(result.problems)
        warnings.extend(result.warnings)
        readings.extend(result.readings)
    order = {label: n for n, label in enumerate(labels.values())}
    problems.extend(_unused_date_formats(date_formats, checked))
    if progress is not None:
        progress("checking references", len(files), len(files))
    tick = time.perf_counter()
    cross = _CrossCheck(checked, engine=engine, replace=replace, force=force,
                        max_delete_share=max_delete_share)  # fmt: skip
    cross.run()
    timings["cross-file checks"] = time.perf_counter() - tick
    problems.extend(cross.problems)
    warnings.extend(cross.warnings)
    readings.extend(cross.readings)
    readings.sort(key=lambda r: order.get(r.file, len(order)))  # file by file, stable
    for warning in warnings:
        log.info("%s", warning)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        raise ValidationError(
            f"import rejected: {len(problems)} {noun} in "
            f"{len({p.file for p in problems})} file(s); the database was not changed",
            problems,
        )
    counts = {
        entity: sum(len(r.frame) for r in checked if r.entity == entity and r.frame is not None)
        for entity in ENTITIES
        if any(r.entity == entity and r.frame is not None for r in checked)
    }
    summary = None
    if not dry_run:
        batch = [
            EntityBatch(entity=r.entity, frame=r.frame, label=r.label)
            for r in checked
            if r.frame is not None
        ]
        tick = time.perf_counter()
        write_progress: ProgressCallback | None = progress
        details = {
            "files": [f.to_dict() for f in reports],
            "readings": [r.to_dict() for r in readings],
            "replace": replace,
            "force": force,
        }
        summary = write_import(
            engine,
            batch=batch,
            source=source,
            replace=sorted({r.entity for r in checked}) if replace else (),
            warnings=warnings,
            progress=write_progress,
            details=details,
            cascade=force,
        )
        timings["write"] = time.perf_counter() - tick
    return ImportReport(
        source=source,
        files=tuple(reports),
        counts=counts,
        warnings=tuple(warnings),
        dry_run=dry_run,
        replace=replace,
        summary=summary,
        seconds=time.perf_counter() - started,
        timings=timings,
        readings=tuple(readings),
        forced=force,
    )


# --- what each file holds ------------------------------------------------------------------


def _entity_of(
    raw: RawTable,
    *,
    kind: str | None,
    mapping: Mapping[str, Mapping[str, str]],
    problems: list[Problem],
) -> tuple[str | None, str]:
    """The entity a file holds and why: ``--kind``, its name, or its columns."""
    if kind is not None:
        return kind, "--kind"
    by_name = kind_from_name(raw.path)
    if by_name is not None:
        return by_name, f"file name {raw.path.name!r}"
    if raw.frame is None:
        return None, ""
    columns = [str(c) for c in raw.frame.columns]
    recognised = recognise_kind(columns, mapping=mapping)
    if recognised.entity is not None:
        return recognised.entity, recognised.describe()
    hint = ""
    if len(raw.sheets) > 1:
        hint = _sheet_hint(raw, mapping)
    problems.append(
        Problem(
            raw.label, None, None, None,
            f"cannot tell what the file holds: its name says nothing and "
            f"{recognised.describe()}; pass --kind accounts|reps|opportunities|activities, "
            f"map the columns with --mapping, or name the file accounts*, reps*/users*, "
            f"opportunities*/deals* or activities*/tasks*{hint}",
        )
    )  # fmt: skip
    return None, ""


def _sheet_hint(raw: RawTable, mapping: Mapping[str, Mapping[str, str]]) -> str:
    found = []
    for name, header in sheet_headers(raw.path).items():
        if name == raw.sheet:
            continue
        recognised = recognise_kind(header, mapping=mapping)
        if recognised.entity is not None:
            found.append(f"sheet {name!r} holds {recognised.entity} (--sheet {name!r})")
    return ("; " + "; ".join(found)) if found else ""


def _other_sheets(
    raw: RawTable, entity: str, mapping: Mapping[str, Mapping[str, str]]
) -> list[Problem]:
    """Which other worksheets have the columns the read one lacks."""
    fits = []
    for name, header in sheet_headers(raw.path).items():
        if name == raw.sheet:
            continue
        match = match_columns(entity, header, user=mapping.get(entity))
        if all(c in match.source for c in REQUIRED[entity]):
            fits.append(name)
    if not fits:
        return [
            Problem(raw.label, None, None, None,
                    f"no sheet of the workbook ({', '.join(map(repr, raw.sheets))}) has the "
                    f"{entity} columns {', '.join(REQUIRED[entity])}")
        ]  # fmt: skip
    return [
        Problem(raw.label, None, None, None,
                f"sheet {raw.sheet!r} (read by default) lacks the {entity} columns, but sheet "
                f"{fits[0]!r} has them: import again with --sheet {fits[0]!r}")
    ]  # fmt: skip


# --- dates: one day/month order across the import ---------------------------------------


def _agree_on_date_orders(
    checked: list[ValidatedFile],
    raws: list[RawTable | None],
    options: ReadOptions,
    mapping: Mapping[str, Mapping[str, str]],
) -> list[ValidatedFile]:
    """Re-read files whose ambiguous dates took a convention the other files contradict.

    When some files of the import show one day/month order (a day above 12) and another
    file's dates could be read either way, that file is read in the same order.
    """
    evidence: set[str] = set()
    for result in checked:
        evidence |= result.date_evidence
    if len(evidence) != 1:
        return checked
    order = next(iter(evidence))
    out = []
    for result, raw in zip(checked, raws, strict=True):
        if raw is not None and result.defaulted_order not in (None, order):
            hinted = ReadOptions(options.date_formats, options.decimal, date_hint=order)
            result = validate_file(
                raw, entity=result.entity, mapping=mapping.get(result.entity), options=hinted
            )
        out.append(result)
    return out


def _unused_date_formats(
    formats: Mapping[str, DateFormat], checked: Sequence[ValidatedFile]
) -> list[Problem]:
    """A ``--date-format COLUMN=...`` naming no date column of any file is an error."""
    named = {key for key in formats if key}
    if not named:
        return []
    seen: set[str] = set()
    for result in checked:
        if result.match is None:
            continue
        for canonical, column in result.match.source.items():
            if canonical in DATES or canonical in DATETIMES:
                seen.update({normalize_name(canonical), normalize_name(column)})
    return [
        Problem("--date-format", None, key, None,
                "no file of the import has a date column of that name")
        for key in sorted(named - seen)
    ]  # fmt: skip


# --- checks across files and against the store -----------------------------------------


def _name_key(value: object) -> str:
    return " ".join(str(value).split()).casefold()


class _CrossCheck:
    """Duplicate ids across files, references (resolved by name where given as names),
    and what ``--replace`` would delete."""

    def __init__(
        self,
        checked: Sequence[ValidatedFile],
        *,
        engine: Engine,
        replace: bool,
        force: bool,
        max_delete_share: float,
    ) -> None:
        self.engine = engine
        self.force = force
        self.max_delete_share = max_delete_share
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.readings: list[Reading] = []
        self.by_entity: dict[str, list[ValidatedFile]] = {e: [] for e in ENTITIES}
        for result in checked:
            if result.frame is not None:
                self.by_entity[result.entity].append(result)
        self.replacing = {e for e, rs in self.by_entity.items() if rs} if replace else set()

    def run(self) -> None:
        self.duplicate_ids()
        deleted = self.replace_deletions()
        self.resolve_names("reps", REP_REFERENCES)
        self.resolve_names("accounts", ACCOUNT_REFERENCES)
        self.account_references(deleted.get("accounts"))
        self.rep_references(deleted.get("reps"))
        self.active_plan_references(deleted)

    def active_plan_references(self, deleted: Mapping[str, pd.Index]) -> None:
        """The active territory plan must not lose the reps or accounts it assigns."""
        gone_reps, gone_accounts = deleted.get("reps"), deleted.get("accounts")
        if not (gone_reps is not None and len(gone_reps)) and not (
            gone_accounts is not None and len(gone_accounts)
        ):
            return
        from territorial.planning.ownership import active_plan_id, book, territory_reps

        plan_id = active_plan_id(self.engine)
        if plan_id is None:
            return
        found = []
        if gone_reps is not None and len(gone_reps):
            members = territory_reps(self.engine, plan_id=plan_id)
            lost = members[members["rep_id"].isin(gone_reps)]
            if len(lost):
                found.append(
                    f"gives {lost['territory_id'].nunique():,} territories to "
                    f"{lost['rep_id'].nunique():,} reps it deletes "
                    f"({', '.join(sorted(lost['rep_id'].unique())[:10])})"
                )
        if gone_accounts is not None and len(gone_accounts):
            assigned = book(self.engine, plan_id=plan_id)
            lost = assigned[assigned["account_id"].isin(gone_accounts)]
            if len(lost):
                found.append(f"assigns {len(lost):,} accounts it deletes")
        if not found:
            return
        message = f"the active territory plan #{plan_id} {' and '.join(found)}"
        if self.force:
            self.warnings.append(
                Problem("(database)", None, None, None,
                        f"--replace: {message}: forced", severity="warning")
            )  # fmt: skip
        else:
            self.problems.append(
                Problem("(database)", None, None, None,
                        f"--replace: {message}; import them too, activate another plan, or "
                        "pass --force")
            )  # fmt: skip

    # -- ids

    def ids_of(self, entity: str, *, with_store: bool) -> pd.Index:
        imported = [r.frame["id"].dropna() for r in self.by_entity[entity] if r.frame is not None]
        index = (
            pd.Index(pd.concat(imported), dtype="str") if imported else pd.Index([], dtype="str")
        )
        if with_store:
            index = index.append(stored_ids(self.engine, entity=entity))
        return index.unique()

    def duplicate_ids(self) -> None:
        """The same id in two files of one entity."""
        for results in self.by_entity.values():
            if len(results) < 2:
                continue
            stacked = pd.DataFrame(
                {
                    "id": pd.concat(
                        [r.frame["id"] for r in results if r.frame is not None], ignore_index=True
                    ),
                    "file": np.concatenate(
                        [np.full(len(r.rows), n) for n, r in enumerate(results)]
                    ),
                    "row": np.concatenate([r.rows for r in results]),
                }
            ).dropna(subset=["id"])
            first = stacked.drop_duplicates("id").set_index("id")
            again = stacked[stacked["id"].duplicated(keep="first").to_numpy()]
            for value, number, row in again.itertuples(index=False):
                first_file, first_row = first.loc[value, "file"], first.loc[value, "row"]
                if first_file == number:
                    continue  # reported by the file's own check
                result = results[int(number)]
                self.problems.append(
                    Problem(result.label, int(row), result.source_name("id"), str(value),
                            f"duplicate id: also in {results[int(first_file)].label} "
                            f"row {int(first_row)}")
                )  # fmt: skip

    # -- --replace: how much it deletes

    def replace_deletions(self) -> dict[str, pd.Index]:
        """Ids each replaced entity would lose; too large a share is refused."""
        deleted: dict[str, pd.Index] = {}
        for entity in sorted(self.replacing, key=ENTITIES.index):
            stored = stored_ids(self.engine, entity=entity)
            gone = stored.difference(self.ids_of(entity, with_store=False))
            deleted[entity] = gone
            if not len(stored) or not len(gone):
                continue
            share = len(gone) / len(stored)
            message = (
                f"--replace would delete {len(gone):,} of the {len(stored):,} stored {entity} "
                f"({share:.0%})"
            )
            if share > self.max_delete_share and not self.force:
                self.problems.append(
                    Problem("(database)", None, None, None,
                            f"{message}, more than the {self.max_delete_share:.0%} allowed "
                            "(setting import_replace_max_share); check that the file is "
                            "complete, or pass --force to delete them (they stay recoverable: "
                            "territorial imports undo ID)")
                )  # fmt: skip
            elif share > self.max_delete_share:
                self.warnings.append(
                    Problem("(database)", None, None, None,
                            f"{message}: forced; recoverable with territorial imports undo",
                            severity="warning")
                )  # fmt: skip
        return deleted

    # -- references given by name

    def resolve_names(self, target: str, references: Sequence[tuple[str, str]]) -> None:
        """Replace names (or e-mails) of reps / accounts by their ids where unambiguous.

        Salesforce reports and HubSpot exports name owners (``Account Owner``, ``Deal
        owner``) and accounts (``Account Name``) rather than giving ids. A value that is
        not a known id but is the name of exactly one rep (or account) becomes its id;
        a name shared by several is an error naming them.
        """
        known: pd.Index | None = None
        directory: dict[str, list[str]] | None = None
        for entity, column in references:
            files = [r for r in self.by_entity[entity] if r.frame is not None and column in r.frame]
            if not files:
                continue
            if known is None:
                known = self.ids_of(target, with_store=target not in self.replacing)
            for result, mask in unknown_references(files, column=column, known=known):
                assert result.frame is not None
                if directory is None:
                    directory = self.directory(target)
                values = result.frame[column]
                found: dict[str, str] = {}
                for value in values[mask].unique().tolist():
                    ids = directory.get(_name_key(value), [])
                    if len(ids) == 1:
                        found[value] = ids[0]
                    elif len(ids) > 1:
                        rows = result.rows[mask & (values == value).to_numpy()]
                        shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
                        self.problems.append(
                            Problem(result.label, int(rows[0]), result.source_name(column),
                                    value, f"{value!r} is the name of {len(ids)} {target} "
                                    f"({shown}) in {len(rows)} rows; give ids instead")
                        )  # fmt: skip
                if found:
                    replaced = values[mask].map(found)
                    result.frame.loc[mask, column] = replaced.fillna(values[mask])
                    count = int(replaced.notna().sum())
                    example = next(iter(found.items()))
                    noun = "rep" if target == "reps" else "account"
                    self.readings.append(
                        Reading(result.label, result.source_name(column),
                                f"{noun} names matched to ids",
                                f"{count:,} rows name {len(found):,} "
                                f"{noun if len(found) == 1 else target} by name"
                                f"{' or e-mail' if target == 'reps' else ''} "
                                f"(e.g. {example[0]!r} -> {example[1]})")
                    )  # fmt: skip

    def directory(self, target: str) -> dict[str, list[str]]:
        """Name (and e-mail for reps) -> ids, from this import and the store."""
        keys = ["name", "email"] if target == "reps" else ["name"]
        frames = [
            r.frame[["id", *[k for k in keys if k in r.frame]]]
            for r in self.by_entity[target]
            if r.frame is not None
        ]
        if target not in self.replacing:
            frames.append(read_entity_columns(self.engine, entity=target, columns=["id", *keys]))
        directory: dict[str, set[str]] = {}
        for frame in frames:
            for key in keys:
                if key not in frame:
                    continue
                pairs = frame[["id", key]].dropna()
                for value, ident in zip(pairs[key].tolist(), pairs["id"].tolist(), strict=True):
                    directory.setdefault(_name_key(value), set()).add(str(ident))
        return {k: sorted(v) for k, v in directory.items()}

    # -- references to accounts and reps

    def account_references(self, deleted: pd.Index | None) -> None:
        need = any(self.by_entity[e] for e, _ in ACCOUNT_REFERENCES)
        if not need and deleted is None:
            return
        accounts = self.ids_of("accounts", with_store="accounts" not in self.replacing)
        for entity, column in ACCOUNT_REFERENCES:
            for result, mask in unknown_references(
                self.by_entity[entity], column=column, known=accounts
            ):
                assert result.frame is not None
                values = result.frame[column][mask].tolist()
                self.problems.extend(
                    Problem(result.label, int(row), result.source_name(column), value,
                            "account_id points at an account that is neither in this import "
                            "nor in the database")
                    for row, value in zip(result.rows[mask], values, strict=True)
                )  # fmt: skip
        if deleted is None or not len(deleted):
            return
        # Replacing accounts must not orphan stored opportunities or activities.
        for entity in ("opportunities", "activities"):
            if entity in self.replacing:
                continue
            orphaned = (
                referenced_account_ids(self.engine, entity=entity)
                .intersection(deleted)
                .sort_values()
            )
            if not len(orphaned):
                continue
            rows = read_entity_columns(self.engine, entity=entity, columns=["account_id"])
            count = int(rows["account_id"].isin(orphaned).sum())
            shown = ", ".join(orphaned[:10].tolist()) + (" ..." if len(orphaned) > 10 else "")
            message = (
                f"--replace would delete {len(orphaned):,} accounts that {count:,} stored "
                f"{entity} belong to ({shown})"
            )
            if self.force:
                self.warnings.append(
                    Problem("(database)", None, "account_id", None,
                            f"{message}: forced; those {entity} are deleted with them and stay "
                            "recoverable with territorial imports undo", severity="warning")
                )  # fmt: skip
            else:
                self.problems.append(
                    Problem("(database)", None, "account_id", None,
                            f"{message}; import the {entity} too, or pass --force to delete "
                            "them with their accounts (recoverable with territorial imports undo)")
                )  # fmt: skip

    def rep_references(self, deleted: pd.Index | None) -> None:
        need = any(
            r.frame is not None and c in r.frame
            for e, c in REP_REFERENCES[:3]
            for r in self.by_entity[e]
        )
        if need:
            reps = self.ids_of("reps", with_store="reps" not in self.replacing)
            for entity, column in REP_REFERENCES[:3]:
                files = self.by_entity[entity]
                for result, mask in unknown_references(files, column=column, known=reps):
                    assert result.frame is not None
                    values = result.frame[column][mask]
                    rows = pd.Series(result.rows[mask], index=values.index)
                    grouped = rows.groupby(values.to_numpy()).agg(["min", "size"])
                    for value, (row, size) in grouped.iterrows():
                        self.warnings.append(
                            Problem(result.label, int(row), result.source_name(column),
                                    str(value), f"{column} is not a known rep ({size} rows); "
                                    "import reps first or alongside", severity="warning")
                        )  # fmt: skip
        if deleted is None or not len(deleted):
            return
        # Replacing reps must not leave accounts, opportunities or activities with owners
        # that no longer exist.
        dangling: list[str] = []
        for entity, column in REP_REFERENCES:
            count = 0
            imported_ids: list[pd.Series] = []
            for result in self.by_entity[entity]:
                assert result.frame is not None
                if column in result.frame:
                    count += int(result.frame[column].isin(deleted).sum())
                imported_ids.append(result.frame["id"])
            if entity not in self.replacing:
                stored = read_entity_columns(self.engine, entity=entity, columns=["id", column])
                if imported_ids:
                    stored = stored[~stored["id"].isin(pd.concat(imported_ids))]
                count += int(stored[column].isin(deleted).sum())
            if count:
                noun = "managed by" if column == "manager_id" else "owned by"
                dangling.append(f"{count:,} {entity} {noun}")
        if not dangling:
            return
        listed = deleted.sort_values()
        shown = ", ".join(listed[:10].tolist()) + (" ..." if len(deleted) > 10 else "")
        message = (
            f"--replace would leave {'; '.join(dangling)} reps it deletes "
            f"({len(deleted):,} reps: {shown})"
        )
        if self.force:
            self.warnings.append(
                Problem("(database)", None, "owner_id", None,
                        f"{message}: forced; the owner ids are kept as they are",
                        severity="warning")
            )  # fmt: skip
        else:
            self.problems.append(
                Problem("(database)", None, "owner_id", None,
                        f"{message}; import those reps too, or pass --force")
            )  # fmt: skip
