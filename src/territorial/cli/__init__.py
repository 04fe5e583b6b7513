"""Command-line interface: a thin shell over the library, one command per job.

Each area registers its commands on :data:`app` from its own module; importing the
modules below is what adds them to ``territorial --help``.
"""

from __future__ import annotations

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
from territorial.cli import score as _score  # noqa: F401  (score, market)
from territorial.cli import design as _design  # noqa: F401  (design, capacity)
from territorial.cli import route as _route  # noqa: F401  (route, rules, serve)
from territorial.cli import users as _users  # noqa: F401  (users add/list)

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
    except Exception as exc:  # click's own usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise


__all__ = ["app", "main"]
