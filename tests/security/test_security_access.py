"""Access: log-in lockout, user administration, personal API tokens and their scopes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from conftest import AUTH, TOKEN, make_client
from territorial.errors import AuthenticationError, ConflictError
from territorial.store import open_store
from territorial.store.access import api_tokens, login_attempts
from territorial.store.workspace import list_events
from territorial.web import auth

cli = pytest.importorskip("territorial.cli")
PASSWORD = "right password 1"


def _users(engine: Engine) -> None:
    auth.add_user(engine, email="admin@example.com", role="admin", password=PASSWORD)
    auth.add_user(engine, email="pat@example.com", role="planner", password=PASSWORD)


@pytest.fixture
def engine(store_url: str) -> Engine:
    engine = open_store(store_url)
    _users(engine)
    return engine


def test_eleventh_wrong_password_locks_even_the_right_one(engine: Engine) -> None:
    policy = auth.LoginPolicy(max_failures=10, window=timedelta(minutes=15))
    for _ in range(10):
        with pytest.raises(AuthenticationError, match="wrong e-mail or password"):
            auth.log_in(
                engine, email="pat@example.com", password="nope", address="10.0.0.9", policy=policy
            )
    with pytest.raises(auth.LockedOutError) as caught:
        auth.log_in(
            engine, email="pat@example.com", password=PASSWORD, address="10.0.0.9", policy=policy
        )
    assert caught.value.http_status == 429
    assert 0 < caught.value.retry_after <= 15 * 60
    assert "try again in 15 minutes" in caught.value.message
    # Another account from another address is not affected.
    auth.log_in(
        engine, email="admin@example.com", password=PASSWORD, address="10.0.0.8", policy=policy
    )
    # The failures are in the audit trail, with the address.
    failed = [e for e in list_events(engine) if e["action"] == "login.failed"]
    assert len(failed) == 11
    assert {e["details"]["reason"] for e in failed} == {"wrong", "locked"}
    assert all(e["details"]["address"] == "10.0.0.9" for e in failed)
    assert failed[0]["actor"] == "pat@example.com"


def test_lockout_ends_when_the_window_has_passed(engine: Engine) -> None:
    policy = auth.LoginPolicy(max_failures=3, window=timedelta(minutes=15))
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            auth.log_in(engine, email="pat@example.com", password="nope", policy=policy)
    with pytest.raises(auth.LockedOutError):
        auth.log_in(engine, email="pat@example.com", password=PASSWORD, policy=policy)
    with engine.begin() as conn:  # move the failures 16 minutes back
        conn.execute(update(login_attempts).values(at=datetime.now(UTC) - timedelta(minutes=16)))
    user, _ = auth.log_in(engine, email="pat@example.com", password=PASSWORD, policy=policy)
    assert user.email == "pat@example.com"


def test_address_lockout_covers_every_account(engine: Engine) -> None:
    policy = auth.LoginPolicy(max_failures=100, max_failures_per_address=5)
    for i in range(5):
        with pytest.raises(AuthenticationError):
            auth.log_in(
                engine,
                email=f"guess{i}@example.com",
                password="x",
                address="203.0.113.7",
                policy=policy,
            )
    with pytest.raises(auth.LockedOutError):
        auth.log_in(
            engine, email="pat@example.com", password=PASSWORD, address="203.0.113.7", policy=policy
        )


def test_the_log_in_form_answers_429_with_retry_after(tmp_path: Path) -> None:
    with make_client(tmp_path, login_max_failures=2) as client:
        _users(client.app.state.engine)  # type: ignore[attr-defined]

        def attempt(password: str) -> object:
            page = client.get("/workspace/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            return client.post(
                "/workspace/login",
                data={
                    "email": "pat@example.com",
                    "password": password,
                    "csrf_token": csrf.group(1),
                },
                follow_redirects=False,
            )

        assert "error=wrong" in attempt("nope").headers["location"]  # type: ignore[attr-defined]
        attempt("nope")
        locked = attempt(PASSWORD)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert int(locked.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "Too many failed log-ins" in locked.text  # type: ignore[attr-defined]


def test_disable_ends_sessions_and_remove_keeps_the_row(engine: Engine) -> None:
    _, token = auth.log_in(engine, email="pat@example.com", password=PASSWORD)
    assert auth.session_for_token(engine, token) is not None
    auth.disable_user(engine, email="pat@example.com")
    assert auth.session_for_token(engine, token) is None
    with pytest.raises(AuthenticationError, match="disabled"):
        auth.log_in(engine, email="pat@example.com", password=PASSWORD)
    auth.enable_user(engine, email="pat@example.com")
    auth.log_in(engine, email="pat@example.com", password=PASSWORD)
    auth.remove_user(engine, email="pat@example.com")
    with pytest.raises(AuthenticationError, match="removed"):
        auth.log_in(engine, email="pat@example.com", password=PASSWORD)
    with pytest.raises(ConflictError, match="cannot be reused"):
        auth.add_user(engine, email="pat@example.com", role="planner", password=PASSWORD)
    actions = [e["action"] for e in list_events(engine)]
    assert {"user.disable", "user.enable", "user.remove"} <= set(actions)


def test_the_last_admin_cannot_be_disabled(engine: Engine) -> None:
    with pytest.raises(ConflictError, match="last active admin"):
        auth.disable_user(engine, email="admin@example.com")


def test_users_cli_disable_enable_reset_remove(sqlite_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(sqlite_url)
    _users(engine)
    _, session = auth.log_in(engine, email="pat@example.com", password=PASSWORD)
    db = ["--database", sqlite_url]
    cli.main(["users", "reset-password", "pat@example.com", "--password", "a new password", *db])
    assert auth.session_for_token(engine, session) is None  # revoked at once
    auth.log_in(engine, email="pat@example.com", password="a new password")
    cli.main(["users", "disable", "pat@example.com", *db])
    cli.main(["users", "enable", "pat@example.com", *db])
    cli.main(["users", "remove", "pat@example.com", "--yes", *db])
    cli.main(["users", "list", *db])
    out = capsys.readouterr().out
    assert re.search(r"pat@example\.com.*removed", out)
    with pytest.raises(SystemExit) as stop:
        cli.main(["users", "disable", "nobody@example.com", *db])
    assert stop.value.code == 4


def _token(engine: Engine, email: str, **kwargs: object) -> str:
    _, secret = auth.create_api_token(engine, email=email, name="test", **kwargs)  # type: ignore[arg-type]
    return secret


@pytest.fixture
def api(tmp_path: Path) -> TestClient:
    client = make_client(tmp_path)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    _users(engine)
    return client


def test_personal_tokens_act_with_their_users_role(api: TestClient) -> None:
    engine = api.app.state.engine  # type: ignore[attr-defined]
    with api:
        planner = {"Authorization": f"Bearer {_token(engine, 'pat@example.com')}"}
        reader = {"Authorization": f"Bearer {_token(engine, 'pat@example.com', scope='read')}"}
        assert api.get("/api/rules", headers=planner).status_code == 200
        assert (
            api.post(
                "/api/rules/validate", json={"source": "version: 1"}, headers=planner
            ).status_code
            == 200
        )
        assert api.get("/api/rules", headers=reader).status_code == 200
        refused = api.post("/api/rules/validate", json={"source": "x: 1"}, headers=reader)
        assert refused.status_code == 403 and "read-only" in refused.json()["message"]
        # last use is recorded
        with engine.connect() as conn:
            assert conn.execute(select(api_tokens.c.last_used_at)).scalars().first() is not None
        # revoked and expired tokens, disabled users: 401 from the next request on
        token_id = auth.access.list_tokens(engine)[0].id
        auth.revoke_api_token(engine, token_id=token_id)
        gone = api.get("/api/rules", headers=planner)
        assert gone.status_code == 401 and "revoked" in gone.json()["message"]
        with engine.begin() as conn:
            conn.execute(update(api_tokens).values(expires_at=datetime.now(UTC) - timedelta(1)))
        assert "expired" in api.get("/api/rules", headers=reader).json()["message"]
        fresh = {"Authorization": f"Bearer {_token(engine, 'pat@example.com')}"}
        auth.disable_user(engine, email="pat@example.com")
        assert api.get("/api/rules", headers=fresh).status_code == 401


def test_tokens_cli_create_list_revoke(sqlite_url: str, capsys) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(sqlite_url)
    _users(engine)
    db = ["--database", sqlite_url]
    cli.main(["tokens", "create", "--user", "pat@example.com", "--name", "CRM sync", *db])
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("trl_") and len(secret) > 40
    user, token = auth.authenticate_token(engine, secret)
    assert user.email == "pat@example.com" and token.name == "CRM sync"
    with engine.connect() as conn:  # only the hash is stored
        assert secret not in str(conn.execute(select(api_tokens)).all())
    cli.main(["tokens", "list", *db])
    listed = capsys.readouterr().out
    assert "CRM sync" in listed and secret not in listed and "active" in listed
    cli.main(["tokens", "revoke", str(token.id), *db])
    with pytest.raises(AuthenticationError, match="revoked"):
        auth.authenticate_token(engine, secret)


@pytest.mark.parametrize(
    "path",
    ["/api/rules?token=" + TOKEN, "/api/decisions?access_token=x", "/api/rules?api_key=x"],
)
def test_token_in_the_query_string_is_a_401(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert "Authorization header" in response.json()["message"]
    assert "this operation takes" not in response.text  # no parameter names leaked


def test_unknown_query_parameters_are_named_only_to_callers_with_a_token(
    client: TestClient,
) -> None:
    assert client.get("/api/decisions?recordid=x").status_code == 401
    named = client.get("/api/decisions?recordid=x", headers=AUTH)
    assert named.status_code == 422 and "'recordid'" in named.json()["message"]


def _login(client: TestClient, email: str) -> str:
    page = client.get("/workspace/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    client.post(
        "/workspace/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    tokens = client.get("/workspace/tokens")
    found = re.search(r'name="csrf-token" content="([^"]+)"', tokens.text)
    assert found is not None, tokens.text[:300]
    return found.group(1)


def test_admin_users_page_disables_resets_and_removes(tmp_path: Path) -> None:
    with make_client(tmp_path) as admin, make_client(tmp_path) as pat:
        engine = admin.app.state.engine  # type: ignore[attr-defined]
        _users(engine)
        csrf = _login(admin, "admin@example.com")
        _login(pat, "pat@example.com")
        assert pat.get("/workspace/tokens").status_code == 200
        assert pat.get("/workspace/users").status_code == 403  # admins only
        page = admin.get("/workspace/users")
        assert "pat@example.com" in page.text
        done = admin.post(
            "/workspace/users/disable", data={"email": "pat@example.com", "csrf_token": csrf}
        )
        assert "disabled pat@example.com" in done.text
        assert pat.get("/workspace/tokens", follow_redirects=False).status_code == 401
        no_csrf = admin.post("/workspace/users/enable", data={"email": "pat@example.com"})
        assert no_csrf.status_code == 403
        admin.post("/workspace/users/enable", data={"email": "pat@example.com", "csrf_token": csrf})
        admin.post(
            "/workspace/users/reset-password",
            data={"email": "pat@example.com", "password": "brand new pw", "csrf_token": csrf},
        )
        auth.log_in(engine, email="pat@example.com", password="brand new pw")
        last = admin.post(
            "/workspace/users/remove", data={"email": "admin@example.com", "csrf_token": csrf}
        )
        assert last.status_code == 409 and "last active admin" in last.text


def test_tokens_page_creates_shows_once_and_revokes(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        _users(engine)
        csrf = _login(client, "pat@example.com")
        made = client.post(
            "/workspace/tokens", data={"name": "notebook", "days": "30", "csrf_token": csrf}
        )
        secret = re.search(r'data-testid="secret">(trl_[^<]+)<', made.text)
        assert secret is not None
        api = {"Authorization": f"Bearer {secret.group(1)}"}
        assert client.get("/api/rules", headers=api).status_code == 200
        assert secret.group(1) not in client.get("/workspace/tokens").text  # shown once
        token_id = auth.access.list_tokens(engine)[0].id
        client.post(f"/workspace/tokens/{token_id}/revoke", data={"csrf_token": csrf})
        assert client.get("/api/rules", headers=api).status_code == 401
