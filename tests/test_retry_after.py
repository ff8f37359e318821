"""`Retry-After` on every answer a retry can cure: the 409 of an Idempotency-Key still in flight, the 409
of a write that met a concurrent one (what the import answers when two files create the same records at
once), and every 503; and the spec says so."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services.platform import idempotency
from api.services.platform.connections import write_transaction
from api.services.platform.errors import Conflict

SPEC = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


async def test_a_key_still_in_flight_is_a_409_with_retry_after(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def still_pending(**_: Any) -> str:
        return "pending"

    monkeypatch.setattr(idempotency, "begin", still_pending)
    response = await client.post(
        "/v1/organisations", json={"name": "Twice Sent Trust", "kind": "foundation"}, headers={"Idempotency-Key": "k"}
    )
    assert response.status_code == 409
    assert "still being processed" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"


async def test_a_write_that_met_a_concurrent_one_is_a_409_with_retry_after() -> None:
    """A unique or foreign-key violation the services' own checks did not see: another write got in between."""
    with pytest.raises(Conflict) as refused:
        async with write_transaction():
            raise sqlite3.IntegrityError("UNIQUE constraint failed: organisation.slug")
    assert refused.value.status == 409
    assert refused.value.headers["Retry-After"] == "1"
    assert "send the request again" in refused.value.detail


def test_the_spec_declares_retry_after_on_every_503_and_409() -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    operations = [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "patch", "delete")
    ]
    for method, path, operation in operations:
        for status in ("409", "503"):
            if status in operation["responses"]:
                headers = operation["responses"][status].get("headers", {})
                assert "Retry-After" in headers, f"{method.upper()} {path} {status}"
        if "requestBody" in operation:
            assert "408" in operation["responses"], f"{method.upper()} {path}"
    assert "409" in spec["paths"]["/v1/imports/360giving"]["post"]["responses"]
