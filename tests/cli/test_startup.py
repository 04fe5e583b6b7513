"""``territorial --help`` and usage errors start fast: guarded by what they import, not by a clock.

The wall-clock figures come from ``benchmarks/cli_startup.py``; these tests fail when a
change brings back what made start-up slow (a heavy library imported by a command module,
Rich's progress bars or emoji table on the error path, string annotations re-evaluated by
typer for every command on every start).
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import typer

from territorial.cli import app

#: The library's own stack: only the command that needs it may import it.
HEAVY = ("pandas", "numpy", "scipy", "sqlalchemy", "numba", "fastapi", "alembic")

#: argv, exit code, modules that must not be imported when the process ends.
#: pydantic is absent from --help; a usage error does import it, because the locked typer
#: validates the root options (``--verbose``) with pydantic before the subcommand runs.
STARTS = [
    (["--help"], 0, (*HEAVY, "pydantic", "pydantic_settings", "rich.progress")),
    ([], 0, (*HEAVY, "pydantic", "pydantic_settings", "rich.progress")),
    (["design", "--bogus"], 2, (*HEAVY, "pydantic_settings", "rich.progress", "rich._emoji_codes")),
    (["score", "--foo"], 2, (*HEAVY, "pydantic_settings", "rich.progress", "rich._emoji_codes")),
]

_PROBE = """
import json, sys
from territorial.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize(
    ("argv", "exit_code", "absent"), STARTS, ids=[" ".join(a) or "(no args)" for a, _, _ in STARTS]
)
def test_start_imports_nothing_heavy(
    argv: list[str], exit_code: int, absent: tuple[str, ...]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["exit"] == exit_code, done.stderr
    imported = sorted(set(absent) & set(report["modules"]))
    assert imported == [], f"territorial {' '.join(argv)} imported {imported}"


def _callbacks(group: typer.Typer) -> Iterator[Callable[..., Any]]:
    if group.registered_callback is not None and group.registered_callback.callback:
        yield group.registered_callback.callback
    for command in group.registered_commands:
        if command.callback is not None:
            yield command.callback
    for subgroup in group.registered_groups:
        if subgroup.typer_instance is not None:
            yield from _callbacks(subgroup.typer_instance)


def test_command_annotations_are_evaluated_once() -> None:
    """No ``from __future__ import annotations`` in command modules.

    typer reads each command's signature with ``inspect.signature(eval_str=True)`` and
    ``get_type_hints`` whenever the CLI starts; string annotations are then compiled and
    evaluated twice per command, which cost about a third of the start-up time.
    """
    callbacks = list(_callbacks(app))
    assert len(callbacks) > 40  # every command of every area is registered
    stringly = sorted(
        f"{callback.__module__}.{callback.__qualname__}"
        for callback in callbacks
        if any(isinstance(hint, str) for hint in inspect.get_annotations(callback).values())
    )
    assert stringly == []
