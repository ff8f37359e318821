"""Experiments, not the service: the service's app with one change made from outside, to measure what
a fix would buy before making it in the code. Run with `bench/run.py --service-app bench.experiments:NAME`.

- `persistent_sqlite`: Piccolo's SQLite engine on one kept sqlite3 connection per worker (queried
  synchronously on the event loop) instead of a new aiosqlite connection and thread per query.
  Reads only: good enough to benchmark GETs, not a safe engine for writes (no transaction handling).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, dict_factory


def persistent_sqlite() -> Any:
    kept: dict[int, sqlite3.Connection] = {}

    async def run(
        self: SQLiteEngine, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        connection = kept.get(id(self))
        if connection is None:
            connection = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
            connection.execute("PRAGMA foreign_keys = 1")
            connection.row_factory = dict_factory
            kept[id(self)] = connection
        cursor = connection.execute(query, args or [])
        rows = cursor.fetchall()
        connection.commit()
        return rows

    SQLiteEngine._run_in_new_connection = run  # type: ignore[method-assign]
    from api.app import create_app

    return create_app()


def _sargable_keyset() -> None:
    """Keyset pages with a bound the index can seek to: `col >= v AND (col > v OR (col = v AND id > last))`
    instead of `col > v OR (col = v AND id > last)`, which both engines run as a filter over every row
    before the cursor (PostgreSQL: index scan from the start; SQLite: MULTI-INDEX OR and a sort)."""
    from api.services.records import resource as records
    from api.services.records.cursors import decode_list_cursor

    original = records.list_page

    async def list_page(
        resource: Any, page: Any, *, where: Any = (), sort: str = "name", limit: int = 50, cursor: str | None = None
    ) -> Any:
        if cursor:
            value, _ = decode_list_cursor(cursor, sort)
            column = resource.column(sort.lstrip("-"))
            where = [*where, (column >= value) if not sort.startswith("-") else (column <= value)]
        return await original(resource, page, where=where, sort=sort, limit=limit, cursor=cursor)

    records.list_page = list_page  # type: ignore[assignment]
    for name in ("grants", "organisations", "places", "research", "engagements", "interest_groups", "co_funding"):
        module = __import__(f"api.services.{name}", fromlist=["list_page"])
        if getattr(module, "list_page", None) is original:
            module.list_page = list_page


def keyset_bound() -> Any:
    _sargable_keyset()
    from api.app import create_app

    return create_app()


def persistent_sqlite_keyset_bound() -> Any:
    _sargable_keyset()
    return persistent_sqlite()


def _floor(middleware: bool) -> Any:
    """Litestar alone: the organisation route answering a fixed Organisation Struct, with no database.
    The most any Litestar read path can do on this machine (with or without the service's middleware)."""
    import msgspec
    from litestar import Litestar, get

    from api.http.allow import allow_header_middleware, index_allowed_methods
    from api.http.etags import etag_middleware
    from api.http.idempotency import idempotency_middleware
    from api.schemas.organisations import Organisation

    record = msgspec.json.decode(
        b'{"id":"d90d0dd0-7584-4157-89fd-b9442c4f70af","slug":"bench-org-4807","name":"Wellbeing Power Trust 4807",'
        b'"org_id":"GB-BENCH-004807","kind":"charity","description":"mental sport","website":"https://example.org/4807",'
        b'"home_place":{"id":"ccc484b4-bc7b-4c8c-aed1-1f5ba1b996c5","slug":"e02000077-st-michaels","name":"St Michael\'s"},'
        b'"contributed_by":null,"source":"fixture","source_url":"bench/generate.py","created_at":"2022-07-01T23:03:33Z",'
        b'"updated_at":"2022-07-01T23:03:33Z","version":1}',
        type=Organisation,
    )

    @get("/v1/organisations/{ref:str}")
    async def organisation(ref: str) -> Organisation:
        return record

    @get("/v1/grants")
    async def grants() -> dict[str, Any]:
        return {"items": [], "next_cursor": None}

    chain = [allow_header_middleware, idempotency_middleware, etag_middleware] if middleware else []
    app = Litestar(
        route_handlers=[organisation, grants],
        middleware=chain,
        debug=False,
        signature_namespace={"Organisation": Organisation, "Any": Any},
    )
    if middleware:
        index_allowed_methods(app)
    return app


def litestar_floor() -> Any:
    return _floor(False)


def litestar_floor_middleware() -> Any:
    return _floor(True)
