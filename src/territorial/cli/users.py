"""``territorial users``: workspace accounts (log-in e-mail, role, password)."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, settings_for

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The workspace roles (``territorial.store.workspace.ROLES``; a test keeps them equal):
#: spelled out here so that ``--help`` does not import the store.
ROLES = ("admin", "planner", "manager", "rep")

users_app = typer.Typer(
    help="Workspace users: who may log in, with which role.", no_args_is_help=True
)
app.add_typer(users_app, name="users")


@users_app.command("add")
def add(
    email: Annotated[str, typer.Option("--email", help="Log-in e-mail address.")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="TERRITORIAL_NEW_PASSWORD",
            help="At least 8 characters; asked for when not given.",
        ),
    ],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    rep_id: Annotated[
        str | None,
        typer.Option("--rep-id", help="The rep this user is (rep) or manages as (manager)."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Add a user who can log in to the workspace (``territorial serve``)."""
    from territorial.store import open_store
    from territorial.web.auth import add_user

    engine = open_store(settings_for(database).resolved_database_url)
    user = add_user(engine, email=email, role=role, password=password, name=name, rep_id=rep_id)
    console.print(
        f"added {user.email} ({user.role}{', rep ' + user.rep_id if user.rep_id else ''})"
    )


@users_app.command("list")
def list_(database: DatabaseOption = None) -> None:
    """List workspace users."""
    from territorial.store import open_store
    from territorial.store.workspace import list_users

    engine = open_store(settings_for(database).resolved_database_url)
    table = Table("e-mail", "name", "role", "rep id", "status")
    for u in list_users(engine, include_removed=True):
        table.add_row(u.email, u.name or "", u.role, u.rep_id or "", u.status)
    console.print(table)


def _engine(database: str | None) -> "Engine":
    from territorial.store import open_store

    return open_store(settings_for(database).resolved_database_url)


EmailArgument = Annotated[str, typer.Argument(help="The user's log-in e-mail.")]


@users_app.command("disable")
def disable(email: EmailArgument, database: DatabaseOption = None) -> None:
    """Stop a user from logging in; their sessions end and their API tokens stop working."""
    from territorial.web.auth import disable_user

    user = disable_user(_engine(database), email=email)
    console.print(f"disabled {user.email}; their sessions have ended")


@users_app.command("enable")
def enable(email: EmailArgument, database: DatabaseOption = None) -> None:
    """Let a disabled user log in again."""
    from territorial.web.auth import enable_user

    user = enable_user(_engine(database), email=email)
    console.print(f"enabled {user.email}")


@users_app.command("reset-password")
def reset_password_command(
    email: EmailArgument,
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            envvar="TERRITORIAL_NEW_PASSWORD",
            help="At least 8 characters; asked for when not given.",
        ),
    ],
    database: DatabaseOption = None,
) -> None:
    """Set a new password; every session of the user ends at once."""
    from territorial.web.auth import reset_password

    user = reset_password(_engine(database), email=email, password=password)
    console.print(f"new password set for {user.email}; their sessions have ended")


@users_app.command("remove")
def remove(
    email: EmailArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    database: DatabaseOption = None,
) -> None:
    """Remove a user (kept in the audit trail): sessions end, API tokens are revoked."""
    from territorial.web.auth import remove_user

    if not yes:
        typer.confirm(f"remove {email}? They can no longer log in", abort=True)
    user = remove_user(_engine(database), email=email)
    console.print(f"removed {user.email}; their sessions ended and their tokens were revoked")
