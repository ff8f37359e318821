"""The baseline: a bare ASGI app answering the benchmarked requests with the same SQL statements the
service sends (captured from Piccolo's query log) through the raw driver, encoded with msgspec. No
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
ENCODER = msgspec.json.Encoder()
JSON_HEADERS = [(b"content-type", b"application/json")]


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
        # $n placeholders; an IN list of ids is passed as one array (`= ANY($n)`).
        async with self.pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    def ids(self, values: list[Any]) -> tuple[str, list[Any]]:
        return "= ANY($1)", [list(values)]

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
        return self.db.execute(sql, args).fetchall()

    def ids(self, values: list[Any]) -> tuple[str, list[Any]]:
        return f"IN ({', '.join('?' for _ in values)})", [str(v) for v in values]

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
        p = self.db.param
        rows = await self.db.fetch(
            f"SELECT id, slug, org_id FROM organisation WHERE (slug IN ({p(1)}) OR org_id IN ({p(2)}))", ref, ref
        )
        return rows[0]["id"] if rows else None

    async def names(self, table: str, ids: set[Any]) -> dict[Any, dict[str, Any]]:
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        where, args = self.db.ids(wanted)
        rows = await self.db.fetch(f'SELECT id, slug, name FROM "{table}" WHERE id {where}', *args)
        return {r["id"]: {"id": self.db.uuid(r["id"]), "slug": r["slug"], "name": r["name"]} for r in rows}

    async def organisation(self, ref: str) -> bytes | None:
        db = self.db
        record_id = await self.resolve_organisation(ref)
        if record_id is None:
            return None
        where, args = db.ids([record_id])
        (row,) = await db.fetch(f"SELECT {ORG_COLUMNS} FROM organisation WHERE id {where}", *args)
        organisations = await self.names("organisation", {row["contributed_by"]})
        places = await self.names("place", {row["home_place"]})
        return ENCODER.encode(
            {
                "id": db.uuid(row["id"]),
                "slug": row["slug"],
                "name": row["name"],
                "org_id": row["org_id"],
                "kind": row["kind"],
                "description": row["description"],
                "website": row["website"],
                "home_place": places.get(row["home_place"]),
                "contributed_by": organisations.get(row["contributed_by"]),
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
        rows = await db.fetch(
            f'SELECT {GRANT_COLUMNS} FROM "grant"{where} ORDER BY name ASC, id ASC LIMIT {limit + 1}', *args
        )
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["name"], db.uuid(rows[-1]["id"]))
        items = []
        if rows:
            ids = [r["id"] for r in rows]
            in_ids, id_args = db.ids(ids)
            links = await db.fetch(
                'SELECT grant_place."grant", grant_place.place FROM grant_place LEFT JOIN place p '
                f'ON grant_place.place = p.id WHERE grant_place."grant" {in_ids} ORDER BY p.name',
                *id_args,
            )
            places_of: dict[Any, list[Any]] = {}
            for link in links:
                places_of.setdefault(link["grant"], []).append(link["place"])
            orgs = await self.names(
                "organisation",
                {r["contributed_by"] for r in rows} | {r["funder"] for r in rows} | {r["recipient"] for r in rows},
            )
            places = await self.names("place", {link["place"] for link in links})
            extra = {
                r["id"]: r
                for r in await db.fetch(
                    "SELECT id, currency, amount_applied_for, amount_disbursed, unmatched_locations "
                    f'FROM "grant" WHERE id {in_ids}',
                    *id_args,
                )
            }
            for r in rows:
                x = extra[r["id"]]
                items.append(
                    {
                        "id": db.uuid(r["id"]),
                        "slug": r["slug"],
                        "identifier": r["identifier"],
                        "name": r["name"],
                        "description": r["description"],
                        "funder": orgs.get(r["funder"]),
                        "recipient": orgs.get(r["recipient"]),
                        "amount": money(r["amount"], r["currency"]),
                        "awarded_on": db.day(r["awarded_on"]),
                        "planned_start_on": db.day(r["planned_start_on"]),
                        "planned_end_on": db.day(r["planned_end_on"]),
                        "programme": r["programme"],
                        "places": [places[p] for p in places_of.get(r["id"], [])],
                        "amount_applied_for": money(x["amount_applied_for"], x["currency"]),
                        "amount_disbursed": money(x["amount_disbursed"], x["currency"]),
                        "url": r["url"],
                        "data_source": r["data_source"],
                        "from_open_call": None if r["from_open_call"] is None else bool(r["from_open_call"]),
                        "regrant_type": r["regrant_type"],
                        "location_scope": r["location_scope"],
                        "unmatched_locations": db.json(x["unmatched_locations"]) or [],
                        "extra": db.json(r["extra"]),
                        "contributed_by": orgs.get(r["contributed_by"]),
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
