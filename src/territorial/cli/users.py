"""``territorial users``: workspace accounts (log-in e-mail, role, password)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, settings_for

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
    table = Table("e-mail", "name", "role", "rep id", "active")
    for u in list_users(engine):
        table.add_row(u.email, u.name or "", u.role, u.rep_id or "", "yes" if u.active else "no")
    console.print(table)
