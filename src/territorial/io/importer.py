"""Importing CRM exports: read every file, validate everything, then write once.

:func:`import_paths` is the one entry point (the CLI's ``territorial import`` and
notebooks call it). It never writes anything unless every file of the import is
valid, and then writes all of them in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from territorial.errors import ConfigError, Problem, ValidationError
from territorial.io.mapping import ENTITIES, kind_from_name, load_mapping, validate_mapping
from territorial.io.readers import DATA_SUFFIXES, read_table
from territorial.io.validate import ValidatedFile, unknown_references, validate_file
from territorial.store.records import (
    EntityBatch,
    ImportSummary,
    ProgressCallback,
    referenced_account_ids,
    stored_ids,
    write_import,
)

log = logging.getLogger(__name__)

#: Called with (what is happening, units done, units in total).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class FileReport:
    """How one file was read: its entity, rows, encoding, delimiter and column mapping."""

    path: Path
    entity: str
    rows: int
    encoding: str | None
    delimiter: str | None
    columns: dict[str, str]
    extra_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The outcome of :func:`import_paths`.

    ``counts`` are valid rows per entity; ``summary`` (``None`` on a dry run) says
    what was inserted, updated and deleted and the id of the ``imports`` record.
    ``seconds`` is wall-clock time of the whole import.
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


def import_paths(
    paths: Sequence[Path | str],
    *,
    engine: Engine,
    mapping: Path | str | Mapping[str, Mapping[str, str]] | None = None,
    kind: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import accounts, reps, opportunities and activities from CSV, XLSX or Parquet.

    ``paths`` are files or folders (every data file inside). Each file's entity
    comes from its name (``accounts*``, ``reps*``/``users*``,
    ``opportunities*``/``opps*``/``deals*``, ``activities*``/``tasks*``/``events*``)
    or from ``kind`` for all of them. ``mapping`` (a YAML file or a dict
    ``{entity: {canonical column: source column}}``) overrides the built-in aliases.

    Every file is validated first and every problem is collected; if there is
    any, :class:`ValidationError` is raised carrying all of them and the store is
    not touched. Otherwise all files are written in one transaction: rows are
    upserted by id, or, with ``replace``, each imported entity's rows are replaced
    wholesale. ``dry_run`` validates only. ``progress(step, done, total)`` is called
    as work proceeds.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    if kind is not None and kind not in ENTITIES:
        raise ConfigError(f"unknown kind {kind!r}; choose one of {', '.join(ENTITIES)}")
    user_mapping: dict[str, dict[str, str]] = {}
    if isinstance(mapping, Path | str):
        user_mapping = load_mapping(mapping)
    elif mapping is not None:
        user_mapping = validate_mapping(mapping)
    files = expand_paths(paths)
    labels = _labels(files)
    source = ", ".join(str(Path(p)) for p in paths)

    problems: list[Problem] = []
    warnings: list[Problem] = []
    checked: list[ValidatedFile] = []
    reports: list[FileReport] = []
    for number, path in enumerate(files):
        label = labels[path]
        entity = kind or kind_from_name(path)
        if entity is None:
            problems.append(
                Problem(label, None, None, None,
                        "cannot tell what the file holds from its name; name it accounts*, "
                        "reps*/users*, opportunities*/opps*/deals* or activities*/tasks*/events*,"
                        " or pass --kind")
            )  # fmt: skip
            continue
        if progress is not None:
            progress(f"reading {label}", number, len(files))
        tick = time.perf_counter()
        raw = read_table(path, label=label)
        timings[f"read {label}"] = time.perf_counter() - tick
        tick = time.perf_counter()
        result = validate_file(raw, entity=entity, mapping=user_mapping.get(entity))
        timings[f"validate {label}"] = time.perf_counter() - tick
        checked.append(result)
        problems.extend(result.problems)
        warnings.extend(result.warnings)
        reports.append(
            FileReport(
                path=path,
                entity=entity,
                rows=0 if result.frame is None else len(result.frame),
                encoding=raw.encoding,
                delimiter=raw.delimiter,
                columns=dict(result.match.source) if result.match else {},
                extra_columns=result.match.extra if result.match else (),
            )
        )
    if progress is not None:
        progress("checking references", len(files), len(files))
    tick = time.perf_counter()
    cross_problems, cross_warnings = _check_across_files(checked, engine=engine, replace=replace)
    timings["cross-file checks"] = time.perf_counter() - tick
    problems.extend(cross_problems)
    warnings.extend(cross_warnings)
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
        summary = write_import(
            engine,
            batch=batch,
            source=source,
            replace=sorted({r.entity for r in checked}) if replace else (),
            warnings=warnings,
            progress=write_progress,
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
    )


def _check_across_files(
    checked: Sequence[ValidatedFile], *, engine: Engine, replace: bool
) -> tuple[list[Problem], list[Problem]]:
    """Duplicate ids across files, unknown accounts (errors) and unknown reps (warnings)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    by_entity: dict[str, list[ValidatedFile]] = {e: [] for e in ENTITIES}
    for result in checked:
        if result.frame is not None:
            by_entity[result.entity].append(result)

    # The same id in two files of one entity.
    for results in by_entity.values():
        if len(results) < 2:
            continue
        stacked = pd.DataFrame(
            {
                "id": pd.concat(
                    [r.frame["id"] for r in results if r.frame is not None], ignore_index=True
                ),
                "file": np.concatenate([np.full(len(r.rows), n) for n, r in enumerate(results)]),
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
            problems.append(
                Problem(result.label, int(row), result.source_name("id"), str(value),
                        f"duplicate id: also in {results[int(first_file)].label} "
                        f"row {int(first_row)}")
            )  # fmt: skip

    def ids_of(entity: str, *, with_store: bool) -> pd.Index:
        imported = [r.frame["id"].dropna() for r in by_entity[entity] if r.frame is not None]
        index = (
            pd.Index(pd.concat(imported), dtype="str") if imported else pd.Index([], dtype="str")
        )
        if with_store:
            index = index.append(stored_ids(engine, entity=entity))
        return index.unique()

    replacing = {e for e, rs in by_entity.items() if rs} if replace else set()
    need_accounts = any(by_entity[e] for e in ("opportunities", "activities"))
    need_reps = any(
        r.frame is not None and c in r.frame
        for e, c in (("accounts", "owner_id"), ("opportunities", "owner_id"),
                     ("activities", "rep_id"))
        for r in by_entity[e]
    )  # fmt: skip
    if need_accounts or ("accounts" in replacing):
        accounts = ids_of("accounts", with_store="accounts" not in replacing)
        for entity in ("opportunities", "activities"):
            for result, mask in unknown_references(
                by_entity[entity], column="account_id", known=accounts
            ):
                assert result.frame is not None
                column = result.source_name("account_id")
                values = result.frame["account_id"][mask].tolist()
                problems.extend(
                    Problem(result.label, int(row), column, value,
                            "account_id points at an account that is neither in this import "
                            "nor in the database")
                    for row, value in zip(result.rows[mask], values, strict=True)
                )  # fmt: skip
        if "accounts" in replacing:
            # Replacing accounts must not orphan stored opportunities or activities.
            for entity in ("opportunities", "activities"):
                if entity in replacing:
                    continue
                orphaned = referenced_account_ids(engine, entity=entity).difference(accounts)
                if len(orphaned):
                    shown = ", ".join(orphaned[:10].tolist())
                    problems.append(
                        Problem("(database)", None, "account_id", shown,
                                f"--replace would delete {len(orphaned)} account(s) that stored "
                                f"{entity} still point at; import the {entity} too")
                    )  # fmt: skip
    if need_reps:
        reps = ids_of("reps", with_store="reps" not in replacing)
        for entity, column in (("accounts", "owner_id"), ("opportunities", "owner_id"),
                               ("activities", "rep_id")):  # fmt: skip
            for result, mask in unknown_references(by_entity[entity], column=column, known=reps):
                assert result.frame is not None
                values = result.frame[column][mask]
                rows = pd.Series(result.rows[mask], index=values.index)
                grouped = rows.groupby(values.to_numpy()).agg(["min", "size"])
                for value, (row, size) in grouped.iterrows():
                    warnings.append(
                        Problem(result.label, int(row), result.source_name(column), str(value),
                                f"{column} is not a known rep ({size} rows); import reps first "
                                "or alongside", severity="warning")
                    )  # fmt: skip
    return problems, warnings
