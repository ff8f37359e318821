"""The baseline: a bare ASGI app answering the benchmarked requests with the same SQL statements the
service sends (the service's `Statement`s and its page query, as the engine log shows them) through the raw driver, encoded with msgspec. No
framework, no ORM, no validation: the practical limit for Python on this machine.

    GET /v1/organisations/{ref}       ref = slug or org-id
    GET /v1/grants?limit=N[&funder=ref][&cursor=c]   sorted by name, keyset cursor as the service's

PostgreSQL: an asyncpg pool (asyncpg's defaults, as Piccolo's pool). SQLite: one persistent sqlite3
connection per worker, queried synchronously on the event loop. DATABASE_URL picks the engine.

    DATABASE_URL=... granian --interface asgi --factory bench.baseline_app:create_app --port 8101
"""

from __future__ import annotations

import base64
import datetime
import os
import sqlite3
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

CENTS = Decimal("0.01")
ORG_COLUMNS = (
    "id, contributed_by, source, source_url, created_at, updated_at, version, slug, name, org_id, kind, "
    "description, website, home_place"
)
GRANT_COLUMNS = (
    "id, contributed_by, source, source_url, created_at, updated_at, version, slug, identifier, name, "
    "description, funder, recipient, amount, currency, awarded_on, planned_start_on, planned_end_on, programme, "
    "amount_applied_for, amount_disbursed, url, data_source, from_open_call, regrant_type, location_scope, "
    "standard, extra, unmatched_locations"
)


def named_select(table: str, columns: str, references: dict[str, str]) -> str:
    """The row with each reference's id, slug and name joined in, as the service's `Resource._select`."""
    out = [f't."{c.strip()}" AS "{c.strip()}"' for c in columns.split(",")]
    joins = []
    for n, (field, target) in enumerate(references.items()):
        out += [f'r{n}."{key}" AS "{field}.{key}"' for key in ("id", "slug", "name")]
        joins.append(f'LEFT JOIN "{target}" AS r{n} ON r{n}."id" = t."{field}"')
    return f'SELECT {", ".join(out)} FROM "{table}" AS t {" ".join(joins)}'


# The service's statements, with `{}` for a value and `{in}` for membership of a list (one parameter).
ORGANISATION_BY_REF = (
    named_select("organisation", ORG_COLUMNS, {"contributed_by": "organisation", "home_place": "place"})
    + ' WHERE t."slug" = {} OR t."org_id" = {} OR t."id" = {}'
)
RESOLVE_ORGANISATION = (
    'SELECT "id", "slug", "org_id" FROM "organisation" WHERE "slug" {in} OR "org_id" {in} OR "id" {in}'
)
GRANTS_BY_IDS = (
    named_select(
        "grant",
        GRANT_COLUMNS,
        {"contributed_by": "organisation", "funder": "organisation", "recipient": "organisation"},
    )
    + ' WHERE t."id" {in}'
)
GRANT_PLACES = (
    'SELECT l."grant" AS "owner", x."id" AS "id", x."slug" AS "slug", x."name" AS "name" FROM "grant_place" AS l '
    'JOIN "place" AS x ON x."id" = l."place" WHERE l."grant" {in} ORDER BY x."name", x."id"'
)
ENCODER = msgspec.json.Encoder()
JSON_HEADERS = [(b"content-type", b"application/json")]


def as_uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def money(amount: Any, currency: str | None) -> dict[str, str] | None:
    if amount is None:
        return None
    return {"amount": str(Decimal(str(amount)).quantize(CENTS)), "currency": currency or "GBP"}


def encode_cursor(value: str, record_id: Any) -> str:
    raw = msgspec.json.encode(["name", value, str(record_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    _, value, record_id = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return value, record_id


class Postgres:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn)

    async def close(self) -> None:
        await self.pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    @staticmethod
    def compile(template: str) -> str:
        template = template.replace("{in}", "= ANY({})")
        parts = template.split("{}")
        return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, 1))

    def listed(self, values: list[Any]) -> Any:
        return list(values)

    def param(self, n: int) -> str:
        return f"${n}"

    def uuid(self, value: Any) -> Any:
        return value

    def stamp(self, value: Any) -> Any:
        return value

    def day(self, value: Any) -> Any:
        return value

    def json(self, value: Any) -> Any:
        return None if value is None else msgspec.json.decode(value)


class SQLite:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.row_factory = sqlite3.Row

    async def open(self) -> None:
        self.db.execute("PRAGMA journal_mode=WAL")

    async def close(self) -> None:
        self.db.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        return self.db.execute(sql, [str(a) if isinstance(a, uuid.UUID) else a for a in args]).fetchall()

    @staticmethod
    def compile(template: str) -> str:
        return template.replace("{in}", "IN (SELECT value FROM json_each({}))").replace("{}", "?")

    def listed(self, values: list[Any]) -> Any:
        return msgspec.json.encode([str(v) for v in values]).decode()

    def param(self, n: int) -> str:
        return "?"

    def uuid(self, value: Any) -> Any:
        return None if value is None else uuid.UUID(value)

    def stamp(self, value: Any) -> Any:
        return None if value is None else datetime.datetime.fromisoformat(value)

    def day(self, value: Any) -> Any:
        return None if value is None else datetime.date.fromisoformat(value)

    def json(self, value: Any) -> Any:
        return None if value is None else msgspec.json.decode(value)


class Baseline:
    def __init__(self) -> None:
        url = os.environ.get("DATABASE_URL") or "sqlite:///placenet.sqlite3"
        self.db: Postgres | SQLite = (
            SQLite(url.removeprefix("sqlite:///")) if url.startswith("sqlite:") else Postgres(url)
        )
        compile_ = self.db.compile
        self.organisation_by_ref = compile_(ORGANISATION_BY_REF)
        self.resolve_organisation_sql = compile_(RESOLVE_ORGANISATION)
        self.grants_by_ids = compile_(GRANTS_BY_IDS)
        self.grant_places = compile_(GRANT_PLACES)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.db.open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.db.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path: str = scope["path"]
        headers = list(JSON_HEADERS)
        status = 200
        if path.startswith("/v1/organisations/"):
            body = await self.organisation(path.removeprefix("/v1/organisations/"))
            if body is None:
                status, body = 404, b'{"status":404}'
        elif path.rstrip("/") == "/v1/grants":
            query = dict(parse_qsl(scope["query_string"].decode()))
            body, link = await self.grants(query, scope)
            if body is None:
                status, body = 422, b'{"status":422}'
            elif link:
                headers.append((b"link", link.encode()))
        else:
            status, body = 404, b'{"status":404}'
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # The service's statements ------------------------------------------------------------------------

    async def resolve_organisation(self, ref: str) -> Any:
        db = self.db
        ref_uuid = as_uuid(ref)
        rows = await db.fetch(
            self.resolve_organisation_sql, db.listed([ref]), db.listed([ref]), db.listed([ref_uuid] if ref_uuid else [])
        )
        return rows[0]["id"] if rows else None

    @staticmethod
    def named(row: Any, field: str) -> dict[str, Any] | None:
        if row[f"{field}.id"] is None:
            return None
        return {"id": row[f"{field}.id"], "slug": row[f"{field}.slug"], "name": row[f"{field}.name"]}

    async def organisation(self, ref: str) -> bytes | None:
        db = self.db
        rows = await db.fetch(self.organisation_by_ref, ref, ref, as_uuid(ref))
        if not rows:
            return None
        row = rows[0]
        return ENCODER.encode(
            {
                "id": db.uuid(row["id"]),
                "slug": row["slug"],
                "name": row["name"],
                "org_id": row["org_id"],
                "kind": row["kind"],
                "description": row["description"],
                "website": row["website"],
                "home_place": self.named(row, "home_place"),
                "contributed_by": self.named(row, "contributed_by"),
                "source": row["source"],
                "source_url": row["source_url"],
                "created_at": db.stamp(row["created_at"]),
                "updated_at": db.stamp(row["updated_at"]),
                "version": row["version"],
            }
        )

    async def grants(self, query: dict[str, str], scope: dict[str, Any]) -> tuple[bytes | None, str]:
        db = self.db
        limit = int(query.get("limit", 50))
        conditions: list[str] = []
        args: list[Any] = []
        if "funder" in query:
            funder = await self.resolve_organisation(query["funder"])
            if funder is None:
                return None, ""
            args.append(funder)
            conditions.append(f"funder = {db.param(len(args))}")
        if "cursor" in query:
            value, last_id = decode_cursor(query["cursor"])
            args += [value, value, value, last_id if isinstance(db, SQLite) else uuid.UUID(last_id)]
            n = len(args)
            conditions.append(
                f"(name >= {db.param(n - 3)} AND (name > {db.param(n - 2)} OR (name = {db.param(n - 1)} "
                f"AND id > {db.param(n)})))"
            )
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        page = await db.fetch(f'SELECT id, name FROM "grant"{where} ORDER BY name ASC, id ASC LIMIT {limit + 1}', *args)
        next_cursor = None
        if len(page) > limit:
            page = page[:limit]
            next_cursor = encode_cursor(page[-1]["name"], db.uuid(page[-1]["id"]))
        items = []
        if page:
            ids = [r["id"] for r in page]
            order = {record_id: n for n, record_id in enumerate(ids)}
            rows = sorted(await db.fetch(self.grants_by_ids, db.listed(ids)), key=lambda r: order[r["id"]])
            places_of: dict[Any, list[Any]] = {}
            for link in await db.fetch(self.grant_places, db.listed(ids)):
                places_of.setdefault(link["owner"], []).append(
                    {"id": link["id"], "slug": link["slug"], "name": link["name"]}
                )
            for r in rows:
                items.append(
                    {
                        "id": db.uuid(r["id"]),
                        "slug": r["slug"],
                        "identifier": r["identifier"],
                        "name": r["name"],
                        "description": r["description"],
                        "funder": self.named(r, "funder"),
                        "recipient": self.named(r, "recipient"),
                        "amount": money(r["amount"], r["currency"]),
                        "awarded_on": db.day(r["awarded_on"]),
                        "planned_start_on": db.day(r["planned_start_on"]),
                        "planned_end_on": db.day(r["planned_end_on"]),
                        "programme": r["programme"],
                        "places": places_of.get(r["id"], []),
                        "amount_applied_for": money(r["amount_applied_for"], r["currency"]),
                        "amount_disbursed": money(r["amount_disbursed"], r["currency"]),
                        "url": r["url"],
                        "data_source": r["data_source"],
                        "from_open_call": None if r["from_open_call"] is None else bool(r["from_open_call"]),
                        "regrant_type": r["regrant_type"],
                        "location_scope": r["location_scope"],
                        "unmatched_locations": db.json(r["unmatched_locations"]) or [],
                        "extra": db.json(r["extra"]),
                        "contributed_by": self.named(r, "contributed_by"),
                        "source": r["source"],
                        "source_url": r["source_url"],
                        "created_at": db.stamp(r["created_at"]),
                        "updated_at": db.stamp(r["updated_at"]),
                        "version": r["version"],
                    }
                )
        link = ""
        if next_cursor is not None:
            params = [(k, v) for k, v in query.items() if k != "cursor"] + [("cursor", next_cursor)]
            host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
            link = f'<http://{host}{scope["path"]}?{urlencode(params)}>; rel="next"'
        return ENCODER.encode({"items": items, "next_cursor": next_cursor}), link


def create_app() -> Baseline:
    return Baseline()
