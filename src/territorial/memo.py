"""Values computed from a store, kept while the data they come from stays the same.

The workspace and the API ask for the same figures again and again (every rep's plan
page, every map colouring); each cache here is keyed by the store and holds one value
with the *version* of the data it was computed from, a tuple the caller reads cheaply
(newest import, scoring run, active plan ...). A different version recomputes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class VersionedMemo(Generic[T]):
    """One value per store, recomputed when the version of its data changes."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[Hashable, T]] = {}
        self._lock = threading.Lock()

    def get(self, engine: Any, version: Hashable, compute: Callable[[], T]) -> T:
        """The value kept for ``engine`` at ``version``, else ``compute()`` (kept)."""
        key = engine.url.render_as_string(hide_password=True)
        with self._lock:
            found = self._values.get(key)
            if found is not None and found[0] == version:
                return found[1]
        value = compute()
        with self._lock:
            self._values[key] = (version, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


__all__ = ["VersionedMemo"]
