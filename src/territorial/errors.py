"""One exception family for the whole product.

Every error knows the HTTP status the API answers with and the exit code the CLI
returns, so the two shells translate errors in one place each and never guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class TerritorialError(Exception):
    """Base of every error Territorial raises on purpose."""

    http_status: int = 500
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description, used by the API's error responses."""
        return {"error": type(self).__name__, "message": self.message}


class ConfigError(TerritorialError):
    """A setting, option or configuration file is wrong."""

    http_status = 400
    exit_code = 2


class NotFoundError(TerritorialError):
    """A named thing (account, rep, plan, rule set...) does not exist."""

    http_status = 404
    exit_code = 4


class ConflictError(TerritorialError):
    """The request clashes with what is stored (duplicate id, stale version...)."""

    http_status = 409
    exit_code = 5


class PermissionDeniedError(TerritorialError):
    """The caller may not do this."""

    http_status = 403
    exit_code = 6


class AuthenticationError(TerritorialError):
    """The caller did not prove who they are."""

    http_status = 401
    exit_code = 6


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) with one cell of an input file.

    ``row`` is the 1-based line number as a spreadsheet user sees it: the header is
    row 1 and the first data row is row 2. ``row`` and ``column`` are ``None`` when
    the problem concerns the whole file (empty file, wrong encoding...).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    severity: str = "error"  # "error" blocks the import, "warning" does not

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.reason}{shown}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "severity": self.severity,
        }


class ValidationError(TerritorialError):
    """Input that cannot be accepted; carries every problem found in one pass."""

    http_status = 422
    exit_code = 3

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        if self.problems:
            shown = "\n".join(f"  - {p}" for p in self.problems[:50])
            more = len(self.problems) - 50
            tail = f"\n  ... and {more} more" if more > 0 else ""
            message = f"{message}\n{shown}{tail}"
        super().__init__(message)

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out["problems"] = [p.to_dict() for p in self.problems]
        return out


class InfeasibleError(TerritorialError):
    """A design or routing request that no plan can satisfy; the message says why."""

    http_status = 422
    exit_code = 7
