"""``territorial users add/list``."""

from __future__ import annotations

import pytest

from territorial.store import open_store
from territorial.store.workspace import user_credentials
from territorial.web.auth import verify_password

cli = pytest.importorskip("territorial.cli")


def test_users_add_hashes_the_password_and_lists(sqlite_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    cli.main(
        [
            "users",
            "add",
            "--email",
            "Pat@Example.com",
            "--role",
            "planner",
            "--password",
            "long enough pw",
            "--database",
            sqlite_url,
        ]
    )
    found = user_credentials(open_store(sqlite_url), email="pat@example.com")
    assert found is not None
    user, stored = found
    assert user.role == "planner" and stored != "long enough pw"
    assert verify_password("long enough pw", stored)
    cli.main(["users", "list", "--database", sqlite_url])
    assert "pat@example.com" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--role", "boss", "--password", "long enough pw"], 2),
        (["--role", "rep", "--password", "long enough pw"], 2),
        (["--role", "admin", "--password", "short"], 2),
    ],
)
def test_users_add_refuses_bad_input(sqlite_url: str, args: list[str], code: int) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["users", "add", "--email", "x@example.com", *args, "--database", sqlite_url])
    assert exit_info.value.code == code
