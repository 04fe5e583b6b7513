"""Command-line interface: a thin shell over the library, one command per job.

Each area registers its commands on :data:`app` from its own module; importing the
modules below is what adds them to ``territorial --help``.
"""

import sys
import warnings
from typing import TextIO

from rich.markup import escape

# Command modules, in the order `territorial --help` lists them (importing a module
# registers its commands).
# isort: off
from territorial.cli import demo as _demo  # noqa: F401  (the main job end to end)
from territorial.cli import sample as _sample  # noqa: F401  (sample company)
from territorial.cli import data as _data  # noqa: F401  (import, status)
from territorial.cli import imports as _imports  # noqa: F401  (imports list/show/undo)
from territorial.cli import score as _score  # noqa: F401  (score, market)
from territorial.cli import design as _design  # noqa: F401  (design, capacity)
from territorial.cli import plans as _plans  # noqa: F401  (plans, export, worker, jobs)
from territorial.cli import route as _route  # noqa: F401  (route, rules, serve)
from territorial.cli import users as _users  # noqa: F401  (users add/list)
from territorial.cli import tokens as _tokens  # noqa: F401  (personal API tokens)
from territorial.cli import repplan as _repplan  # noqa: F401  (rep-plan, flags)
from territorial.cli import goals as _goals  # noqa: F401  (quota, performance, signals, goals)

# isort: on
from territorial.cli.app import app, err_console
from territorial.errors import TerritorialError


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Library warnings (suspect data, tight tolerances) as one readable line on stderr."""
    err_console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``territorial`` executable."""
    warnings.showwarning = _show_warning
    try:
        app(args=argv, standalone_mode=False)
    except TerritorialError as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        # Usage errors come from the click copy that typer ships (``typer._click``), not
        # from ``click``: one or two readable lines and exit code 2, never a traceback.
        from typer._click import exceptions as click_exceptions

        if isinstance(exc, click_exceptions.NoArgsIsHelpError):
            exc.show()
            sys.exit(0)
        if isinstance(exc, click_exceptions.UsageError):
            _usage_error(exc)
            sys.exit(2)
        if isinstance(exc, click_exceptions.ClickException):
            err_console.print(
                f"[bold red]error:[/] {escape(exc.format_message())}", highlight=False
            )
            sys.exit(exc.exit_code)
        from typer.exceptions import Abort, Exit

        if isinstance(exc, Abort):
            err_console.print("[red]aborted[/]")
            sys.exit(1)
        if isinstance(exc, Exit):
            sys.exit(exc.exit_code)
        raise


def _usage_error(exc: Exception) -> None:
    """``error: <what>`` and ``try: territorial <command> --help`` on stderr."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "territorial"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    # emoji=False: what the user typed is shown as typed (``--x:fire:`` stays text), and
    # Rich's emoji table (tens of ms to import) is not loaded just to report a typo.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, emoji=False)
    err_console.print(f"try: {escape(command)} --help", highlight=False, emoji=False)


__all__ = ["app", "main"]
