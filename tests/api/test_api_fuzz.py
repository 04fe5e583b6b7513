"""Fuzz the API against its own OpenAPI description: no answer may be a 5xx.

Schemathesis generates valid and invalid requests for every operation from
``/openapi.json`` and runs its checks on each answer (no server error, status code
and content type documented, body conforming to the response schema).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import insert

from territorial.api.app import create_app
from territorial.settings import load_settings
from territorial.store import open_store
from territorial.store.tables import accounts

TOKEN = "fuzz-token"
EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "examples" / "rules.yaml"


def _build_schema() -> Any:
    """The schema of an app on a throw-away store with example rules active and accounts."""
    db = Path(tempfile.mkdtemp(prefix="territorial-fuzz-")) / "territorial.db"
    atexit.register(shutil.rmtree, db.parent, True)
    settings_ = load_settings(database_url=f"sqlite:///{db}", api_token=TOKEN)
    engine = open_store(settings_.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(
            insert(accounts),
            [
                {
                    "id": f"ACC-{i:06d}",
                    "name": f"Company {i}",
                    "domain": f"c{i}.com",
                    "state": ["CA", "NY", "TX"][i % 3],
                    "employees": 50 * i,
                    "postal_code": f"94{i:03d}",
                    "annual_revenue": 1e6 * i,
                }
                for i in range(1, 40)
            ],
        )
    app = create_app(settings_, engine=engine)
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        created = client.post(
            "/api/rules", json={"source": EXAMPLE_RULES.read_text()}, headers=auth
        )
        assert created.status_code == 201, created.text
        assert (
            client.post(f"/api/rules/{created.json()['id']}/activate", headers=auth).status_code
            == 200
        )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# Built at import: schemathesis' pytest integration parametrizes at collection time.
schema = _build_schema()


@schema.auth()
class BearerToken:
    """The server's API token, applied to every generated request."""

    def get(self, case: schemathesis.Case, context: Any) -> str:
        return TOKEN

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_never_answers_5xx_and_matches_its_openapi(case: schemathesis.Case) -> None:
    # Schema-valid is not always meaningful: a rules text may not parse, an expiry may be
    # past, a record kind may have no active rules. Those answer a documented 4xx, so
    # the "positive data must be accepted" check does not apply; every other check does.
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance],
    )
