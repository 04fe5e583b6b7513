"""Bounded parsing: YAML and JSON that no input can turn into a hang, a crash or a 500.

Every configuration file Territorial reads (routing rules, the scoring configuration)
goes through :func:`load_yaml`, which

* refuses YAML aliases (``*name``) and merge keys (``<<``): an alias "bomb" of a few
  hundred bytes expands to gigabytes in a naive loader, and no Territorial file needs
  them;
* refuses tags other than the standard ones (``!!python/object`` and friends);
* bounds the text size, the nesting depth and the number of values, each limit named
  in the message with the line where it was crossed;
* refuses duplicate keys (the second would silently win);
* records the line of every key path (``regions[0].territories[1].match``), so that a
  validator can name the line of any problem it finds.

It reads libyaml's event stream (no recursion, so depth is checked before anything is
built) and builds plain Python values itself.

:func:`json_depth` measures the nesting depth of a JSON text without parsing it, and
:func:`shown` gives a short, recursion-safe rendering of any value for messages.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError
from yaml import events

from territorial.errors import Problem, ValidationError

#: Largest YAML text read (characters). Rules files of 1,000 territories with named
#: account lists are a few megabytes.
YAML_MAX_CHARS = 20_000_000
#: Deepest nesting of mappings and lists in a YAML file (a rules file needs about 14).
YAML_MAX_DEPTH = 64
#: Most values (scalars, lists and mappings) in one YAML file.
YAML_MAX_NODES = 5_000_000
#: Deepest nesting of objects and arrays in a JSON request body (a batch needs 4).
JSON_MAX_DEPTH = 32

#: libyaml's parser when available (same events and marks, much faster).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STANDARD_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_MERGE_TAG = "tag:yaml.org,2002:merge"


def key_path(loc: Iterable[Any]) -> str:
    """``('regions', 0, 'match')`` as ``regions[0].match`` (the form used in messages)."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_LAST_PART = re.compile(r"(\.[^.\[\]]*|\[\d+\])$")


@dataclass
class YamlDocument:
    """A parsed YAML file: its value and the line (1-based) of every key path."""

    data: Any
    source: str
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, path: str | Sequence[Any]) -> int | None:
        """The line of ``path`` or of its nearest ancestor that is in the file."""
        text = path if isinstance(path, str) else key_path(path)
        while text:
            if text in self.lines:
                return self.lines[text]
            shorter = _LAST_PART.sub("", text)
            if shorter == text:  # a top-level key that is not in the file
                break
            text = shorter
        return self.lines.get("")


@dataclass
class _Frame:
    value: dict[str, Any] | list[Any]
    path: str
    key: str | None = None  # mapping frames: the key waiting for its value
    key_line: int = 0


class UnsafeInputError(ValidationError):
    """Input refused before it is read: too large, too deep, or using YAML aliases/tags.

    A :class:`ValidationError` (HTTP 422, exit code 3) that a "validate" endpoint
    answers as an error, not as a report: there is nothing to report on.
    """


def _refuse(source: str, line: int | None, reason: str) -> UnsafeInputError:
    return UnsafeInputError(f"{source} cannot be read", [Problem(source, line, None, None, reason)])


def load_yaml(
    text: str,
    *,
    source: str = "file.yaml",
    max_chars: int = YAML_MAX_CHARS,
    max_depth: int = YAML_MAX_DEPTH,
    max_nodes: int = YAML_MAX_NODES,
) -> YamlDocument:
    """Parse one YAML document within the limits; a :class:`ValidationError` otherwise.

    Mapping keys are turned into text (``1:`` and ``"1":`` are the same key). An empty
    file gives ``data=None``.
    """
    if len(text) > max_chars:
        raise _refuse(
            source,
            None,
            f"the file has {len(text):,} characters; at most {max_chars:,} are read",
        )
    doc = YamlDocument(data=None, source=source)
    loader = _Loader(text)
    stack: list[_Frame] = []
    nodes = 0
    documents = 0
    root: Any = None
    try:
        while True:
            event: Any = loader.get_event()
            if isinstance(event, events.StreamEndEvent):
                break
            if isinstance(event, events.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _refuse(
                        source,
                        _line(event),
                        "the file holds more than one YAML document (---); keep one",
                    )
                continue
            if isinstance(event, events.StreamStartEvent | events.DocumentEndEvent):
                continue
            line = event.start_mark.line + 1
            if isinstance(event, events.AliasEvent):
                raise _refuse(
                    source,
                    line,
                    f"YAML aliases (*{event.anchor}) are not allowed; write the value out",
                )
            if isinstance(event, events.MappingEndEvent | events.SequenceEndEvent):
                done = stack.pop()
                value: Any = done.value
                if not stack:
                    root = value
                else:
                    _place(doc, stack[-1], value, None)
                continue
            nodes += 1
            if nodes > max_nodes:
                raise _refuse(
                    source, line, f"the file has more than {max_nodes:,} values; split it"
                )
            parent = stack[-1] if stack else None
            waiting_key = isinstance(parent, _Frame) and isinstance(parent.value, dict)
            if waiting_key and parent is not None and parent.key is None:
                # This event is a key.
                if not isinstance(event, events.ScalarEvent):
                    raise _refuse(
                        source, line, "a key must be a plain value, not a list or a mapping"
                    )
                key_value = _scalar(loader, event, source)
                if key_value is _MERGE:
                    raise _refuse(source, line, "YAML merge keys (<<) are not allowed")
                key = _key_text(key_value)
                path = f"{parent.path}.{key}" if parent.path else key
                assert isinstance(parent.value, dict)
                if key in parent.value:
                    first = doc.lines.get(path)
                    raise ValidationError(
                        f"{source} has a duplicate key",
                        [
                            Problem(
                                source,
                                line,
                                path,
                                key,
                                f"duplicate key {key!r}"
                                + (f" (first at line {first})" if first else ""),
                            )
                        ],
                    )
                parent.key, parent.key_line = key, line
                doc.lines[path] = line
                continue
            path = _child_path(parent)
            if isinstance(event, events.ScalarEvent):
                value = _scalar(loader, event, source)
                if value is _MERGE:
                    raise _refuse(source, line, "YAML merge keys (<<) are not allowed")
                doc.lines.setdefault(path, line)
                if parent is None:
                    root = value
                else:
                    _place(doc, parent, value, line)
                continue
            if isinstance(event, events.MappingStartEvent | events.SequenceStartEvent):
                if event.tag not in _STANDARD_COLLECTION_TAGS:
                    raise _refuse(source, line, f"YAML tag {event.tag!r} is not allowed")
                if len(stack) >= max_depth:
                    raise _refuse(
                        source,
                        line,
                        f"the file nests lists and mappings more than {max_depth} levels deep",
                    )
                doc.lines.setdefault(path, line)
                container: dict[str, Any] | list[Any] = (
                    {} if isinstance(event, events.MappingStartEvent) else []
                )
                stack.append(_Frame(container, path))
                continue
    except yaml.MarkedYAMLError as exc:
        mark: Any = exc.problem_mark or exc.context_mark
        row = mark.line + 1 if mark is not None else None
        reason = f"YAML syntax error: {exc.problem or exc}"
        if exc.context:
            reason += f" ({exc.context})"
        if mark is not None:
            reason += f" at line {mark.line + 1}, column {mark.column + 1}"
        raise ValidationError(
            f"{source} is not valid YAML", [Problem(source, row, None, None, reason)]
        ) from exc
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"{source} is not valid YAML", [Problem(source, None, None, None, str(exc))]
        ) from exc
    finally:
        loader.dispose()
    doc.data = root
    return doc


def read_text_bounded(path: Path, *, max_bytes: int, what: str = "file") -> str:
    """The UTF-8 text of ``path``, refused (before reading) when larger than ``max_bytes``.

    ``FileNotFoundError`` propagates for the caller's message; a file that is not UTF-8
    is a :class:`ValidationError` naming it.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise UnsafeInputError(
            f"{what} {path} is too large",
            [
                Problem(
                    str(path),
                    None,
                    None,
                    None,
                    f"the file has {size:,} bytes; at most {max_bytes:,} are read",
                )
            ],
        )
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:  # it grew while we looked
        raise UnsafeInputError(
            f"{what} {path} is too large",
            [Problem(str(path), None, None, None, f"at most {max_bytes:,} bytes are read")],
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path} is not UTF-8 text", [Problem(str(path), None, None, None, str(exc))]
        ) from exc


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


class _Merge:
    pass


_MERGE = _Merge()


def _key_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _child_path(parent: _Frame | None) -> str:
    if parent is None:
        return ""
    if isinstance(parent.value, dict):
        return f"{parent.path}.{parent.key}" if parent.path else str(parent.key)
    return f"{parent.path}[{len(parent.value)}]"


def _place(doc: YamlDocument, parent: _Frame, value: Any, line: int | None) -> None:
    if isinstance(parent.value, dict):
        assert parent.key is not None
        parent.value[parent.key] = value
        parent.key = None
    else:
        parent.value.append(value)


def _scalar(loader: Any, event: events.ScalarEvent, source: str) -> Any:
    """A scalar's value as PyYAML's safe loader gives it (int, float, date, bool ...)."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _MERGE_TAG:
        return _MERGE
    start: Any = event.start_mark
    end: Any = event.end_mark
    node = yaml.ScalarNode(tag, event.value, start, end, event.style)
    try:
        value = loader.construct_object(node)
    except yaml.constructor.ConstructorError as exc:
        raise _refuse(source, start.line + 1, f"YAML tag {tag!r} is not allowed") from exc
    finally:
        loader.constructed_objects.pop(node, None)
    return value


# ------------------------------------------------------------------------------ JSON


def json_depth(body: bytes) -> int:
    """Deepest nesting of objects and arrays in a JSON text (brackets in strings ignored).

    Vectorised (numpy) and without recursion, so it can run before a parser that
    would recurse: escaped backslashes and quotes are blanked, quotes open and close
    strings, and the brackets outside strings are summed.
    """
    if body.count(b"[") + body.count(b"{") == 0:
        return 0
    if b"\\" in body:
        body = body.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    codes = np.frombuffer(body, dtype=np.uint8)
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    quotes = codes == ord('"')
    if quotes.any():
        outside = (np.cumsum(quotes, dtype=np.int64) & 1) == 0
        opens &= outside
        closes &= outside
    steps = opens.astype(np.int8) - closes.astype(np.int8)
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def shown(value: Any, *, limit: int = 80) -> str | None:
    """A short rendering of ``value`` for messages: never recursive, never long."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------ models


def fail(message: str) -> PydanticCustomError:
    """A validation error whose message is ``message`` exactly (no context: not formatted)."""
    return PydanticCustomError("territorial", message)


def kind_of(value: Any) -> str:
    """What a YAML value is, in words ("mapping", "list", "text", "int" ...)."""
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _UnknownKey:
    key: str
    allowed: tuple[str, ...]


def _refuse_unknown(value: Any) -> Any:
    if isinstance(value, _UnknownKey):
        raise fail(f"unknown key {value.key!r}; allowed here: {', '.join(value.allowed)}")
    return value


class Strict(BaseModel):
    """A mapping of a configuration file with known keys.

    An unknown key is an error on that key, naming the keys allowed there (pydantic's
    ``extra="forbid"`` says only "Extra inputs are not permitted"); anything but a
    mapping is "expected a mapping, got list".
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)
    __pydantic_extra__: dict[str, Annotated[Any, PlainValidator(_refuse_unknown)]]

    #: The keys as written in the file, in the order messages list them (default: the
    #: fields' names or aliases).
    KEYS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise fail(f"expected a mapping, got {kind_of(data)}")
        allowed = cls.KEYS or tuple((f.alias or name) for name, f in cls.model_fields.items())
        if all(k in allowed for k in data):
            return data
        return {k: (v if k in allowed else _UnknownKey(str(k), allowed)) for k, v in data.items()}


def error_path(loc: Iterable[Any]) -> str:
    """A pydantic error location as a key path, without union tags such as ``(list)``."""
    return key_path(
        part
        for part in loc
        if not (isinstance(part, str) and part.startswith("(") and part.endswith(")"))
    )


def error_reason(error: Any) -> str:
    """The message of one pydantic error, as a sentence fragment."""
    if error["type"] == "territorial":
        return str(error["msg"])
    msg = str(error["msg"])
    return msg[:1].lower() + msg[1:]


def pydantic_problems(exc: PydanticValidationError, *, source: str, line_of: Any) -> list[Problem]:
    """Each error of ``exc`` as a :class:`Problem` on ``line_of(path)``."""
    out = []
    for err in exc.errors(include_url=False):
        path = error_path(err["loc"])
        reason = error_reason(err)
        raw = err.get("input")
        raw = getattr(raw, "value", raw) if type(raw).__name__ == "Keyed" else raw
        if reason.startswith("unknown key "):
            parts = path.rsplit(".", 1)
            value: str | None = parts[-1]
        else:
            value = None if isinstance(raw, dict | list) or raw is None else shown(raw, limit=200)
        out.append(Problem(source, line_of(path), path, value, reason))
    return out
