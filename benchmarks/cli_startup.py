"""CLI start-up benchmark: wall time of ``territorial --help`` and of a usage error.

Target (issue 15): ``territorial --help`` and usage errors under 0.5 s wall. Each run is
a fresh process (imports deferred to the command that needs them). Besides wall time it
reports the process's CPU time (user + system), which a busy shared machine inflates far
less than wall time. Bytecode is cached as in an installed copy: the warm-up run may write
``.pyc`` files even when ``PYTHONDONTWRITEBYTECODE`` is set in the caller's environment.

``--baseline-src DIR`` also times another checkout's ``src`` (for instance
``git worktree add --detach /tmp/base main``) with this environment's ``territorial``,
runs interleaved, so that before and after are measured under the same load. Prints the
machine and the load average. Run::

    .venv/bin/python benchmarks/cli_startup.py --runs 5
    .venv/bin/python benchmarks/cli_startup.py --runs 7 --baseline-src /tmp/base/src
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

CLI = str(Path(sys.executable).with_name("territorial"))
CASES = {
    "territorial --help": [CLI, "--help"],
    "territorial design --bogus (usage error)": [CLI, "design", "--bogus"],
}
TARGET_SECONDS = 0.5


@dataclass
class Timings:
    """Wall and CPU seconds of the runs of one command under one source tree."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    exit_code: int = 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], env: dict[str, str], timings: Timings) -> None:
    cpu_before, started = _children_cpu(), time.perf_counter()
    timings.exit_code = subprocess.run(command, capture_output=True, env=env).returncode
    timings.wall.append(time.perf_counter() - started)
    timings.cpu.append(_children_cpu() - cpu_before)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="another checkout's src/ directory, timed alongside this one in the same run",
    )
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    trees = {"this checkout": env}
    if args.baseline_src is not None:
        if not (args.baseline_src / "territorial" / "cli").is_dir():
            parser.error(f"{args.baseline_src} has no territorial/cli package")
        trees = {"baseline": dict(env, PYTHONPATH=str(args.baseline_src.resolve())), **trees}
    load_before = os.getloadavg()
    results: dict[tuple[str, str], Timings] = {}
    for label, command in CASES.items():
        for tree, tree_env in trees.items():
            subprocess.run(command, capture_output=True, env=tree_env)  # warm caches, .pyc
            results[label, tree] = Timings()
        for _ in range(args.runs):
            for tree, tree_env in trees.items():
                _run(command, tree_env, results[label, tree])

    table = Table(title="CLI start-up (seconds, fresh process each run)")
    columns = ("command", "code", "median", "worst", "median CPU", "exit", "target")
    for column in columns:
        table.add_column(column, justify="left" if column in ("command", "code") else "right")
    for (label, tree), timings in results.items():
        table.add_row(
            label,
            tree,
            f"{statistics.median(timings.wall):.2f}",
            f"{max(timings.wall):.2f}",
            f"{statistics.median(timings.cpu):.2f}",
            str(timings.exit_code),
            f"< {TARGET_SECONDS}",
        )
    console = Console(width=120)
    console.print(table)
    console.print(
        f"{args.runs} runs per row; {os.cpu_count()} CPUs ({_cpu_model()}), "
        f"Python {platform.python_version()}; load average before {load_before}, "
        f"after {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
