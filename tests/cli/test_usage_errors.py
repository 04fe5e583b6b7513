"""Usage errors: one or two readable lines on stderr, exit code 2, never a traceback.

What ``--help`` and usage errors import is guarded in ``test_startup.py``."""

from __future__ import annotations

import pytest

from territorial.cli import main

USAGE_ERRORS = [
    (["score", "--foo"], "No such option: --foo"),
    (["import"], "Missing argument"),
    (["nosuch"], "No such command 'nosuch'"),
    (["design", "--balance"], "requires an argument"),
    (["design", "-k", "x"], "--territories"),
    (["sample", "--accounts", "-5"], "--accounts"),
    (["sample", "--accounts", "ten"], "--accounts"),
    (["route"], "Missing argument"),
    (["users", "add", "--role", "admin"], "--email"),
    (["users", "nosuch"], "No such command 'nosuch'"),
    (["capacity"], "Missing argument"),
    (["design", "--time-limit", "soon"], "--time-limit"),
    (["status", "extra-argument"], "unexpected extra argument"),
    (["--verbose=3"], "does not take a value"),
]


@pytest.mark.parametrize(
    ("argv", "expected"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_usage_error_is_short_and_exits_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, captured.err
    assert lines[0].startswith("error: ")
    assert expected.lower() in captured.err.lower()
    assert "Traceback" not in captured.err + captured.out


def test_cli_roles_match_the_store() -> None:
    from territorial.cli.users import ROLES as CLI_ROLES
    from territorial.store.workspace import ROLES

    assert CLI_ROLES == ROLES
