"""Files in and out: reading CRM exports, column mappings, validation, geocoding.

``import_paths(paths, engine=...)`` is the entry point for notebooks and shells::

    from territorial.io import import_paths
    from territorial.store import open_store

    report = import_paths(["exports/"], engine=open_store("sqlite:///t.db"))
"""

from territorial.io.importer import FileReport, ImportReport, expand_paths, import_paths
from territorial.io.mapping import ALIASES, CANONICAL, ENTITIES, REQUIRED, kind_from_name

__all__ = [
    "ALIASES",
    "CANONICAL",
    "ENTITIES",
    "REQUIRED",
    "FileReport",
    "ImportReport",
    "expand_paths",
    "import_paths",
    "kind_from_name",
]
