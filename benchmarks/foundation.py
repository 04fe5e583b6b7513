"""Foundation benchmark: sample generation and import into a fresh SQLite store.

For each size (accounts) it runs, each in its own child process so peak memory is
that step's alone:

1. ``territorial sample --accounts N --reps R --seed 0 --out DIR`` (CSV files);
2. ``territorial import DIR --database sqlite:///fresh.db`` (all four files);
3. ``territorial import DIR/accounts.csv`` into another fresh file (accounts alone).

and prints wall-clock seconds and peak resident memory (from ``os.wait4``'s rusage
of that child), the rows imported, and the machine. Run::

    .venv/bin/python benchmarks/foundation.py                    # 10k, 100k, 1M
    .venv/bin/python benchmarks/foundation.py --sizes 10k,100k
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

CLI = [sys.executable, "-c", "import sys; from territorial.cli import main; main(sys.argv[1:])"]


@dataclass(frozen=True)
class Step:
    size: int
    name: str
    seconds: float
    cpu_seconds: float
    peak_mb: float
    rows: int
    ok: bool


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def run_child(argv: list[str], *, log: Path) -> tuple[float, float, float, bool]:
    """Run one step: wall seconds, CPU seconds (user + system), peak RSS in MB of that
    child alone, and whether it succeeded. CPU time is the fairer number on a shared
    machine, where wall time also counts waiting for other people's processes."""
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, proc.returncode == 0


def count_rows(folder: Path) -> int:
    total = 0
    for path in folder.glob("*.csv"):
        with path.open("rb") as handle:
            total += (
                sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1
            )
    return total


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {model}; Python {platform.python_version()} "
        f"({platform.system()} {platform.release()}); load average at start {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="Account counts, e.g. 10k,100k,1M.")
    parser.add_argument(
        "--reps", type=int, default=0, help="Reps (default: accounts / 400, >= 20)."
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Where files go (default: temp)."
    )
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    console = Console()
    console.print(f"machine: {machine()}")
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        for size in sizes:
            reps = args.reps or max(20, size // 400)
            folder = root / f"sample_{size}"
            seconds, cpu, peak, ok = run_child(
                # the four CRM files the import step reads (the leads file is routed, not
                # imported: docs/sample.md)
                [*CLI, "sample", "--accounts", str(size), "--reps", str(reps), "--seed", "0",
                 "--no-leads", "--out", str(folder)],
                log=root / f"sample_{size}.log",
            )  # fmt: skip
            rows = count_rows(folder) if ok else 0
            steps.append(Step(size, "sample", seconds, cpu, peak, rows, ok))
            console.print(
                f"{size:>9,} accounts: sample {seconds:6.1f} s ({cpu:.1f} s CPU), {peak:.0f} MB"
            )
            if not ok:
                console.print((root / f"sample_{size}.log").read_text()[-2000:])
                continue
            database = root / f"import_{size}.db"
            seconds, cpu, peak, ok = run_child(
                [*CLI, "import", str(folder), "--database", f"sqlite:///{database}"],
                log=root / f"import_{size}.log",
            )
            steps.append(Step(size, "import (SQLite)", seconds, cpu, peak, rows if ok else 0, ok))
            console.print(
                f"{size:>9,} accounts: import {seconds:6.1f} s ({cpu:.1f} s CPU), {peak:.0f} MB"
            )
            if not ok:
                console.print((root / f"import_{size}.log").read_text()[-2000:])
            # The target is about accounts alone: import just that file too.
            database.unlink(missing_ok=True)
            seconds, cpu, peak, ok = run_child(
                [*CLI, "import", str(folder / "accounts.csv"), "--database",
                 f"sqlite:///{database}"],
                log=root / f"import_accounts_{size}.log",
            )  # fmt: skip
            rows = size if ok else 0
            steps.append(Step(size, "import accounts only", seconds, cpu, peak, rows, ok))
            console.print(
                f"{size:>9,} accounts: import of accounts.csv alone {seconds:6.1f} s "
                f"({cpu:.1f} s CPU), {peak:.0f} MB"
            )
            for path in folder.glob("*"):
                path.unlink()
            database.unlink(missing_ok=True)

    table = Table(title="Foundation: sample generation and import (each step a child process)")
    for name, justify in (("accounts", "right"), ("step", "left"), ("rows (all files)", "right"),
                          ("seconds", "right"), ("CPU s", "right"), ("rows/s", "right"),
                          ("peak RSS MB", "right"), ("ok", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for step in steps:
        table.add_row(
            f"{step.size:,}",
            step.name,
            f"{step.rows:,}",
            f"{step.seconds:.1f}",
            f"{step.cpu_seconds:.1f}",
            f"{step.rows / step.seconds:,.0f}" if step.seconds and step.rows else "",
            f"{step.peak_mb:,.0f}",
            "yes" if step.ok else "FAILED",
        )
    console.print(table)
    console.print(f"machine: {machine()}")
    if not all(s.ok for s in steps):
        sys.exit(1)


if __name__ == "__main__":
    main()
