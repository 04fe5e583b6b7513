"""The ``territorial`` command group and the options every command shares."""

import logging
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # pydantic-settings is imported by the commands that read settings
    from territorial.settings import Settings

app = typer.Typer(
    name="territorial",
    help=(
        "Territorial: sales territory planning. Import your CRM exports, score "
        "accounts, carve balanced territories, route leads and track performance."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Human output goes to stdout; errors and progress go to stderr.
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        "-d",
        envvar="TERRITORIAL_DATABASE_URL",
        help=(
            "Database URL (SQLite file or PostgreSQL, e.g. "
            "postgresql://user@127.0.0.1:5432/territorial). "
            "Default: the embedded SQLite file under TERRITORIAL_HOME (~/.territorial)."
        ),
        show_default=False,
    ),
]


def settings_for(database: str | None) -> "Settings":
    """Settings from the environment with the command's ``--database`` applied."""
    from territorial.settings import load_settings

    return load_settings(database_url=database)


@app.callback()
def _root(
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="More log output (-v info, -vv debug)."),
    ] = 0,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
