"""A rep's plan as files: XLSX workbook, iCalendar schedule and PDF document.

:func:`write_plan_files` writes ``REP_ID.xlsx``, ``REP_ID.ics`` and (unless told not to)
``REP_ID.pdf`` into a folder, each through a temporary file renamed into place, so a
failure leaves no half-written file. Sheets and columns: ``Targets``
(:data:`XLSX_TARGET_COLUMNS`), ``Schedule`` (one row per step: ``account_id, date,
channel, step`` and more), ``Collaboration``, ``Trips``, ``Weeks``, ``Summary`` (the
rep's numbers, then the quota standing: :data:`GOAL_SUMMARY_KEYS` and a ``missing`` row
for each thing not set) and ``Goals`` (the SMART goals: :data:`GOAL_COLUMNS`).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from territorial.repplan.goals import GOAL_COLUMNS
from territorial.repplan.plan import RepPlan

XLSX_TARGET_COLUMNS = (
    "rank",
    "account_id",
    "account_name",
    "pool",
    "tier",
    "potential",
    "propensity",
    "open_opps",
    "rationale",
    "product",
    "offer",
    "offer_rule",
    "collaboration",
    "collaboration_rules",
    "sequence",
    "first_step_date",
    "channels",
    "timing",
    "planned_hours",
)
XLSX_SCHEDULE_COLUMNS = (
    "account_id",
    "date",
    "channel",
    "step",
    "account_name",
    "week",
    "hours",
    "travel_hours",
    "trip",
    "sequence",
)
CHANNEL_LABELS = {
    "email": "E-mail",
    "call": "Call",
    "social": "Social",
    "visit": "Visit",
    "event": "Event",
    "decision": "Decision",
}


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


#: Quota figures of :class:`~territorial.repplan.goals.RepGoals` in the Summary sheet.
GOAL_SUMMARY_KEYS = (
    "period",
    "period_start",
    "quota_set_id",
    "quota",
    "quota_to_date",
    "bookings",
    "attainment",
    "pace",
    "pipeline",
    "coverage",
)


def _goal_frame(plan: RepPlan) -> Any:
    import pandas as pd

    rows = [] if plan.goals is None else plan.goals.goals
    return pd.DataFrame(rows, columns=list(GOAL_COLUMNS))


def write_xlsx(plan: RepPlan, path: Path) -> None:
    """The workbook (see the module docstring)."""
    from openpyxl import Workbook

    def write(tmp: Path) -> None:
        book = Workbook(write_only=True)

        def sheet(name: str, frame: Any, columns: Sequence[str]) -> None:
            ws = book.create_sheet(name)
            ws.append(list(columns))
            for row in frame[list(columns)].itertuples(index=False):
                ws.append([_cell(v) for v in row])

        sheet("Targets", plan.targets, XLSX_TARGET_COLUMNS)
        sheet("Schedule", plan.schedule, XLSX_SCHEDULE_COLUMNS)
        sheet("Collaboration", plan.collaboration, plan.collaboration.columns)
        sheet("Trips", plan.trips, plan.trips.columns)
        sheet("Weeks", plan.weekly, plan.weekly.columns)
        summary = book.create_sheet("Summary")
        summary.append(["what", "value"])
        summary.append(["rep_id", plan.rep_id])
        summary.append(["rep_name", str(plan.rep.get("name"))])
        summary.append(["territories", "; ".join(plan.territories)])
        summary.append(["start", plan.start])
        summary.append(["end", plan.end])
        summary.append(["data_as_of", plan.as_of])
        summary.append(["playbook", plan.playbook_source])
        for key, value in plan.numbers.items():
            summary.append([key, _cell(value)])
        goals = plan.goals
        if goals is not None:
            for key in GOAL_SUMMARY_KEYS:
                summary.append([key, _cell(getattr(goals, key))])
            for text in goals.missing:
                summary.append(["missing", text])
        sheet("Goals", _goal_frame(plan), GOAL_COLUMNS)
        book.save(tmp)

    _atomic(path, write)


def ics_bytes(plan: RepPlan) -> bytes:
    """The schedule as an iCalendar file: one all-day event per step."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Territorial//Rep plan//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Territory plan {plan.rep.get('name')} ({plan.rep_id})")
    stamp = datetime.combine(plan.as_of, datetime.min.time())
    offers = plan.targets.set_index("account_id")["offer"]
    trips = plan.trips.set_index("trip") if len(plan.trips) else None
    for n, step in enumerate(plan.schedule.itertuples(index=False)):
        event = Event()
        label = CHANNEL_LABELS.get(step.channel, step.channel)
        event.add("summary", f"{label}: {step.account_name} - {step.step}")
        event.add("dtstart", step.date)
        event.add("dtend", step.date + timedelta(days=1))
        event.add("dtstamp", stamp)
        event.add("uid", f"{plan.rep_id}-{step.account_id}-{step.date:%Y%m%d}-{n}@territorial")
        lines = [
            f"Account {step.account_id} ({step.account_name})",
            f"Sequence {step.sequence}, week {step.week}",
            f"Offer: {offers.get(step.account_id, '')}",
        ]
        if isinstance(step.trip, str) and trips is not None:
            trip = trips.loc[step.trip]
            lines.append(
                f"Trip {step.trip}: {trip['stops']} ({trip['miles']:.0f} mi, "
                f"about {trip['travel_hours']:.1f} h driving)"
            )
        event.add("description", "\n".join(lines))
        event.add("categories", [label])
        cal.add_component(event)
    return cal.to_ical()


def write_ics(plan: RepPlan, path: Path) -> None:
    """The schedule as ``.ics`` (see :func:`ics_bytes`)."""
    data = ics_bytes(plan)
    _atomic(path, lambda tmp: tmp.write_bytes(data))


def write_pdf(plan: RepPlan, path: Path) -> None:
    """The plan document (see :mod:`territorial.repplan.pdf`)."""
    from territorial.repplan.pdf import pdf_bytes

    data = pdf_bytes(plan)
    _atomic(path, lambda tmp: tmp.write_bytes(data))


def write_plan_files(plan: RepPlan, out_dir: Path, *, pdf: bool = True) -> list[Path]:
    """Write ``REP_ID.xlsx``, ``REP_ID.ics`` and ``REP_ID.pdf`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    targets = [(".xlsx", write_xlsx), (".ics", write_ics)]
    if pdf:
        targets.append((".pdf", write_pdf))
    try:
        for suffix, writer in targets:
            path = out_dir / f"{plan.rep_id}{suffix}"
            writer(plan, path)
            written.append(path)
    except BaseException:
        for path in written:  # all or nothing per rep
            path.unlink(missing_ok=True)
        raise
    return written


def schedule_csv(plan: RepPlan) -> bytes:
    """The schedule as CSV (the Schedule sheet's columns)."""
    buffer = io.StringIO()
    plan.schedule[list(XLSX_SCHEDULE_COLUMNS)].to_csv(buffer, index=False)
    return buffer.getvalue().encode()


__all__ = [
    "GOAL_SUMMARY_KEYS",
    "XLSX_SCHEDULE_COLUMNS",
    "XLSX_TARGET_COLUMNS",
    "ics_bytes",
    "schedule_csv",
    "write_ics",
    "write_pdf",
    "write_plan_files",
    "write_xlsx",
]


# --- many reps ---------------------------------------------------------------------------
_SHARED: dict[str, Any] = {}


def _write_one(rep_id: str) -> dict[str, Any]:
    from territorial.repplan.plan import build_rep_plan

    data, options, out_dir, pdf, goals = (
        _SHARED["data"],
        _SHARED["options"],
        _SHARED["out_dir"],
        _SHARED["pdf"],
        _SHARED["goals"],
    )
    plan = build_rep_plan(data, rep_id, options, goals=goals.get(rep_id))
    write_plan_files(plan, out_dir, pdf=pdf)
    return {"rep_id": rep_id, "name": plan.rep.get("name"), **plan.numbers}


def write_rep_plans(
    data: Any,
    rep_ids: Sequence[str],
    out_dir: Path,
    *,
    options: Any = None,
    pdf: bool = True,
    workers: int = 1,
    goals: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Build and write the plans of ``rep_ids`` (checked already, see
    :func:`territorial.repplan.plan_rep_ids`) into ``out_dir``, on ``workers`` processes
    (forked: they share the data read once); returns each rep's numbers, in order.
    ``progress(rep_id)`` is called as each rep is done."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    out_dir.mkdir(parents=True, exist_ok=True)
    _SHARED.update(data=data, options=options, out_dir=out_dir, pdf=pdf, goals=goals or {})
    results: list[dict[str, Any]] = []
    try:
        if workers <= 1 or len(rep_ids) <= 1:
            for rep_id in rep_ids:
                results.append(_write_one(rep_id))
                if progress:
                    progress(rep_id)
            return results
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for result in pool.map(_write_one, rep_ids, chunksize=2):
                results.append(result)
                if progress:
                    progress(result["rep_id"])
        return results
    finally:
        _SHARED.clear()
