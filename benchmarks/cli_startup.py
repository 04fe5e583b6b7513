"""CLI start-up benchmark: wall time of ``territorial --help`` and of a usage error.

Target (issue 15): ``territorial --help`` and usage errors under 0.5 s wall. Each run is
a fresh process (imports deferred to the command that needs them). Prints the machine
and the load average. Run::

    .venv/bin/python benchmarks/cli_startup.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

CLI = str(Path(sys.executable).with_name("territorial"))
CASES = {
    "territorial --help": [CLI, "--help"],
    "territorial design --bogus (usage error)": [CLI, "design", "--bogus"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    table = Table(title="CLI start-up (wall seconds, fresh process each run)")
    for column in ("command", "median", "worst", "exit", "target"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for label, command in CASES.items():
        subprocess.run(command, capture_output=True)  # warm the file cache once
        times, code = [], 0
        for _ in range(args.runs):
            started = time.perf_counter()
            code = subprocess.run(command, capture_output=True).returncode
            times.append(time.perf_counter() - started)
        table.add_row(
            label, f"{statistics.median(times):.2f}", f"{max(times):.2f}", str(code), "< 0.5"
        )
    console = Console()
    console.print(table)
    console.print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
