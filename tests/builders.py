"""Explicit builders for test data, through the API as a partner system would write it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from piccolo.engine.sqlite import SQLiteEngine

from models.piccolo_app import APP_CONFIG
from models.tables import Organisation

ROOT = Path(__file__).resolve().parents[1]
# The UK's places, the councils and the seed network: what `make run` loads.
SEED_FILES = [
    ROOT / "fixtures/places/uk.json",
    ROOT / "fixtures/places/councils.json",
    ROOT / "fixtures/seed/place-action-inquiry.yaml",
]


async def empty_all_tables() -> None:
    db = Organisation._meta.db
    tables = [table._meta.tablename for table in APP_CONFIG.table_classes]
    if isinstance(db, SQLiteEngine):
        async with db.transaction():
            # Checked at commit, when every table is empty, so the order of deletes does not matter.
            await db.run_ddl("PRAGMA defer_foreign_keys = ON")
            for table in tables:
                await db.run_ddl(f'DELETE FROM "{table}"')
    else:
        await db.run_ddl("TRUNCATE " + ", ".join(f'"{table}"' for table in tables) + " CASCADE")


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def organisation(
    client: httpx.AsyncClient, name: str = "Lankelly Chase Foundation", **fields: Any
) -> dict[str, Any]:
    return await post(client, "/v1/organisations", {"name": name, "kind": "foundation", **fields})


async def place(client: httpx.AsyncClient, name: str, level: str = "local_authority", **fields: Any) -> dict[str, Any]:
    return await post(client, "/v1/places", {"name": name, "level": level, **fields})


async def uk_places(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """A small slice of the UK's hierarchy: UK > England > West Midlands > Coventry, and Scotland."""
    uk = await place(client, "United Kingdom", "uk", gss_code="K02000001")
    england = await place(client, "England", "nation", gss_code="E92000001", parent="K02000001")
    scotland = await place(client, "Scotland", "nation", gss_code="S92000003", parent="K02000001")
    west_midlands = await place(client, "West Midlands", "region", gss_code="E12000005", parent="E92000001")
    coventry = await place(client, "Coventry", gss_code="E08000026", parent="E12000005", lat=52.41, lon=-1.51)
    return {"uk": uk, "england": england, "scotland": scotland, "west-midlands": west_midlands, "coventry": coventry}


async def grant(
    client: httpx.AsyncClient, funder: str, recipient: str, name: str = "Testing methodologies", **fields: Any
) -> dict[str, Any]:
    return await post(client, "/v1/grants", {"name": name, "funder": funder, "recipient": recipient, **fields})
