"""Every fault in a decoded JSON value against the Struct it should be, named by its path: not only
the first, as msgspec reports, and with each field the Struct does not take named too (msgspec, told
to forbid unknown fields, names one; told nothing, drops them in silence). The API's request bodies and
the fixture files are both checked with it."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec


class Fault(NamedTuple):
    field: str  # its path: `amount.amount`, `places[1]`; `body` for the value as a whole
    message: str
    unknown: bool  # a field the Struct does not take, and nothing worse


@functools.cache
def _fields(struct: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {field.encode_name: field for field in msgspec.structs.fields(struct)}


def _inner(annotation: Any) -> Any:
    """The type a present, non-null value must have: Annotated, None and UNSET taken away."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a not in (type(None), msgspec.UnsetType)]
        return _inner(rest[0]) if len(rest) == 1 else annotation
    return annotation


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


def _path(prefix: str, key: str | int) -> str:
    return f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}" if prefix else key


def _message(error: msgspec.ValidationError) -> tuple[str, str]:
    """msgspec's message without its path, and the path (`$.amount.amount` is `amount.amount`)."""
    message, _, at = str(error).partition(" - at `$")
    return message, at.rstrip("`").lstrip(".")


def faults(value: Any, annotation: Any, prefix: str = "") -> Iterator[Fault]:
    """Every fault in `value` as `annotation` would have it. Walks into objects and lists so that each
    field at fault is named, not just the first; a rule across fields is reported when nothing else is."""
    try:
        msgspec.convert(value, annotation, strict=True)
        return
    except msgspec.ValidationError as error:
        first = error
    inner = _inner(annotation)
    found = False
    if _is_struct(inner) and isinstance(value, dict):
        fields = _fields(inner)
        for name, field in fields.items():
            if name not in value:
                if field.required:
                    found = True
                    yield Fault(_path(prefix, name), "required, and missing", False)
                continue
            for fault in faults(value[name], field.type, _path(prefix, name)):
                found = True
                yield fault
        for key in value:  # after the fields at fault, which matter more when a problem lists only some
            if key not in fields:
                found = True
                yield Fault(_path(prefix, key), "not a field this operation takes", True)
    elif typing.get_origin(inner) is list and isinstance(value, list):
        (item_type,) = typing.get_args(inner) or (Any,)
        for index, item in enumerate(value):
            for fault in faults(item, item_type, _path(prefix, index)):
                found = True
                yield fault
    if not found:  # a value of the wrong kind, or a rule across fields
        message, at = _message(first)
        if message.startswith("Invalid enum value") and typing.get_origin(inner) is typing.Literal:
            message += "; expected one of " + ", ".join(str(choice) for choice in typing.get_args(inner))
        yield Fault(_path(prefix, at) if at else prefix or "body", message, False)
