from __future__ import annotations

import pytest

from territorial import errors
from territorial.errors import Problem, ValidationError


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (errors.ConfigError, 400),
        (errors.AuthenticationError, 401),
        (errors.PermissionDeniedError, 403),
        (errors.NotFoundError, 404),
        (errors.ConflictError, 409),
        (errors.ValidationError, 422),
        (errors.InfeasibleError, 422),
    ],
)
def test_each_error_knows_its_http_status_and_a_nonzero_exit(cls: type, status: int) -> None:
    assert cls.http_status == status
    assert cls.exit_code != 0


def test_problem_names_file_row_column_and_value() -> None:
    p = Problem("accounts.csv", 7, "employees", "-3", "must not be negative")
    assert str(p) == "accounts.csv, row 7, column 'employees': must not be negative (value '-3')"


def test_validation_error_lists_every_problem() -> None:
    problems = [Problem("a.csv", i, "id", "", "empty id") for i in range(2, 60)]
    err = ValidationError("import rejected", problems)
    assert "row 2" in err.message and "row 51" in err.message
    assert "and 8 more" in err.message
    assert len(err.to_dict()["problems"]) == 58  # type: ignore[arg-type]
