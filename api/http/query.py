"""Query strings are exact, for every operation in the spec: a parameter the operation does not take
is a 422 naming it (never silently ignored), a value outside an enumeration is a 400 listing the
values it may take, a parameter that takes one value is given once, and a date range (`from`/`to`,
`awarded_from`/`awarded_to`, ...) that ends before it starts is the same 422 wherever it is taken.

What each operation takes is read from what Litestar resolved for its handler at startup (the
handler's own parameters, their aliases such as `from`, and those its dependencies take), so a new
parameter, alias or range needs nothing here."""

from __future__ import annotations

import datetime
import enum
import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import parse_qsl

from litestar import Litestar
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.typing import FieldDefinition

from api.schemas.common import FieldError
from api.services.platform.errors import InvalidRequest, Unprocessable

RANGE_DETAIL = "The date range ends before it starts."


@dataclass(frozen=True)
class QueryParameter:
    many: bool  # a list: the parameter may be repeated
    choices: tuple[str, ...] | None  # an enumeration's values
    is_date: bool


@dataclass(frozen=True)
class QueryString:
    """What one operation's query string may hold."""

    parameters: dict[str, QueryParameter]
    ranges: tuple[tuple[str, str], ...]  # (start, end) names of date ranges


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may be: `Annotated`, unions and lists unwrapped, None left out."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, set, frozenset):
        return [member for arg in get_args(annotation) if arg is not Ellipsis for member in _members(arg)]
    return [] if annotation is type(None) else [annotation]


def _choices(annotation: Any) -> tuple[str, ...] | None:
    values: list[str] = []
    for member in _members(annotation):
        if get_origin(member) is Literal:
            values.extend(str(value) for value in get_args(member) if value is not None)
        elif isinstance(member, type) and issubclass(member, enum.Enum):
            values.extend(str(item.value) for item in member)
        else:
            return None  # not only an enumeration: Litestar's own validation answers
    return tuple(values) or None


def _is_date(annotation: Any) -> bool:
    return _members(annotation) == [datetime.date]


def _field_definitions(handler: HTTPRouteHandler) -> dict[str, FieldDefinition]:
    """The handler's parameters and its dependencies' parameters, by Python name, each dependency's
    where the handler takes it (the order the spec lists them in)."""
    dependencies = handler.resolve_dependencies()
    fields: dict[str, FieldDefinition] = {}

    def add(parameters: dict[str, FieldDefinition]) -> None:
        for name, field in parameters.items():
            if name in fields:
                continue
            fields[name] = field
            if name in dependencies:
                add(dependencies[name].parsed_fn_signature.parameters)

    add(handler.parsed_fn_signature.parameters)
    for provide in dependencies.values():
        add(provide.parsed_fn_signature.parameters)
    return fields


def _query_string(handler: HTTPRouteHandler, kwargs_model: Any) -> QueryString:
    fields = _field_definitions(handler)
    parameters: dict[str, QueryParameter] = {}
    order = list(fields)  # the order they are declared in, for the problem's list of them
    definitions = sorted(
        kwargs_model.expected_query_params,
        key=lambda definition: order.index(definition.field_name) if definition.field_name in order else len(order),
    )
    for definition in definitions:
        if definition.param_type not in (ParamType.QUERY, ParamType.DEPENDENCY):
            continue
        field = fields.get(definition.field_name)
        annotation = field.annotation if field is not None else Any
        parameters[definition.field_alias] = QueryParameter(
            many=definition.is_sequence, choices=_choices(annotation), is_date=_is_date(annotation)
        )
    ranges = tuple(
        (start, start[: -len("from")] + "to")
        for start, parameter in parameters.items()
        if start.endswith("from")
        and parameter.is_date
        and (end := parameters.get(start[: -len("from")] + "to")) is not None
        and end.is_date
    )
    return QueryString(parameters=parameters, ranges=ranges)


def index_query_strings(app: Litestar) -> dict[int, QueryString]:
    """What each documented operation's query string may hold, by its handler."""
    return {
        id(handler): _query_string(handler, kwargs_model)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler, kwargs_model in route.route_handler_map.values()
        if handler.resolve_include_in_schema()
    }


def _listed(names: Any) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none"


def check_query(query: QueryString, items: list[tuple[str, str]]) -> None:
    """Raise the problem with the query string, if it has one; every fault of a kind is named at once."""
    unknown = sorted({name for name, _ in items if name not in query.parameters})
    if unknown:
        takes = f"it takes {_listed(query.parameters)}" if query.parameters else "it takes none"
        raise Unprocessable(
            f"The query string names parameters this operation does not take: {', '.join(unknown)}.",
            [
                FieldError(field=name, message=f"is not a parameter of this operation; {takes}", location="query")
                for name in unknown
            ],
        )
    errors: list[FieldError] = []
    given: dict[str, list[str]] = {}
    for name, value in items:
        given.setdefault(name, []).append(value)
    for name, values in given.items():
        parameter = query.parameters[name]
        if len(values) > 1 and not parameter.many:
            errors.append(
                FieldError(field=name, message="is given more than once; it takes one value", location="query")
            )
        if parameter.choices is not None:
            errors.extend(
                FieldError(
                    field=name,
                    message=f"Invalid enum value {value!r}; expected one of: {', '.join(parameter.choices)}",
                    location="query",
                )
                for value in values
                if value not in parameter.choices
            )
    if errors:
        raise InvalidRequest(
            "The request is not valid: " + "; ".join(f"{error.field}: {error.message}" for error in errors), errors
        )
    for start, end in query.ranges:
        first, last = _date(given.get(start)), _date(given.get(end))
        if first is not None and last is not None and first > last:
            raise Unprocessable(
                RANGE_DETAIL,
                [FieldError(field=end, message=f"is before {start} ({first.isoformat()})", location="query")],
            )


def _date(values: list[str] | None) -> datetime.date | None:
    """The day a range end gives; None when absent or not a date (Litestar's validation says so)."""
    if not values or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", values[0]):  # Litestar's form only
        return None
    try:
        return datetime.date.fromisoformat(values[0])
    except ValueError:
        return None


def exact_query_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["litestar_app"].state
        index = state.get("query_strings")
        if index is None:  # made on the first request, when every route is known
            index = state.query_strings = index_query_strings(scope["litestar_app"])
        query = index.get(id(scope.get("route_handler")))  # None: not an operation of the spec
        if query is not None:
            raw = scope.get("query_string", b"").decode("latin-1")  # as Litestar parses it
            check_query(query, parse_qsl(raw, keep_blank_values=True, separator="&"))
        await app(scope, receive, send)

    return middleware
