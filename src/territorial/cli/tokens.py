"""``territorial tokens``: personal API tokens (create, list, revoke)."""

from typing import Annotated

import typer
from rich.table import Table

from territorial.cli.app import DatabaseOption, app, console, err_console, settings_for

tokens_app = typer.Typer(
    help="Personal API tokens: each acts for one user, with that user's role.",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="E-mail of the user the token acts for.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'CRM sync'.")],
    days: Annotated[
        int | None,
        typer.Option("--days", help="Days until it expires. Default: the setting token_days (90)."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token may only read (GET).")
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from territorial.store import open_store
    from territorial.web.auth import create_api_token

    settings = settings_for(database)
    engine = open_store(settings.resolved_database_url)
    token, secret = create_api_token(
        engine,
        email=user,
        name=name,
        days=days if days is not None else settings.token_days,
        scope="read" if read_only else "write",
    )
    err_console.print(
        f"token {token.id} for {token.user_email} ({token.scope}), expires "
        f"{token.expires_at:%Y-%m-%d}. Copy it now: it is not shown again."
    )
    console.print(secret, highlight=False, soft_wrap=True)


@tokens_app.command("list")
def list_(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    database: DatabaseOption = None,
) -> None:
    """List tokens (never their secrets): status, scope, expiry and last use."""
    from territorial.store import open_store
    from territorial.store.access import list_tokens
    from territorial.store.workspace import get_user

    engine = open_store(settings_for(database).resolved_database_url)
    user_id = get_user(engine, email=user).id if user else None
    table = Table("id", "user", "name", "starts", "scope", "status", "expires", "last used")
    for t in list_tokens(engine, user_id=user_id):
        table.add_row(
            str(t.id),
            t.user_email,
            t.name,
            t.prefix + "...",
            t.scope,
            t.status(),
            f"{t.expires_at:%Y-%m-%d}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never",
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see 'tokens list').")],
    database: DatabaseOption = None,
) -> None:
    """Revoke a token now: it is refused from the next request on."""
    from territorial.store import open_store
    from territorial.web.auth import revoke_api_token

    engine = open_store(settings_for(database).resolved_database_url)
    token = revoke_api_token(engine, token_id=token_id)
    console.print(f"revoked token {token.id} ({token.name}) of {token.user_email}")
