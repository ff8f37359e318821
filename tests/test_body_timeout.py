"""A body that stops arriving is answered 408, in the app and behind granian, and nothing is written: a
client cannot hold a request open by sending its headers and then nothing more."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx

from api.app import create_app
from api.settings import Settings
from tests.conftest import make_client
from tests.servers import served

STALLED_BODY = b'{"name": "Never Finished Trust", '
# Only so that a server without the timeout fails the test instead of hanging it.
GIVE_UP_SECONDS = 30


async def a_body_that_stalls() -> AsyncIterator[bytes]:
    yield STALLED_BODY
    await asyncio.Event().wait()  # the rest never comes
    yield b""


def assert_timed_out(status: int, problem: dict[str, Any]) -> None:
    assert status == 408
    assert problem["status"] == 408
    assert problem["title"] == "Request timeout"
    assert "No part of the request body arrived for" in problem["detail"]


async def test_a_stalled_body_is_a_408_and_writes_nothing(admin_key: str) -> None:
    app = create_app(dataclasses.replace(Settings.from_env(), body_read_timeout=0.2))
    async with make_client(app, admin_key) as client:
        async with asyncio.timeout(GIVE_UP_SECONDS):
            response = await client.post(
                "/v1/organisations",
                content=a_body_that_stalls(),
                headers={"Content-Type": "application/json", "Content-Length": "200"},
            )
        assert_timed_out(response.status_code, response.json())
        assert response.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/organisations", params={"q": "Never Finished"})).json()["items"] == []


async def test_a_stalled_body_with_an_idempotency_key_is_a_408(admin_key: str) -> None:
    """The idempotency middleware reads the body itself, before anything is claimed."""
    app = create_app(dataclasses.replace(Settings.from_env(), body_read_timeout=0.2))
    async with make_client(app, admin_key) as client:
        headers = {"Content-Type": "application/json", "Content-Length": "200", "Idempotency-Key": "stalled-1"}
        async with asyncio.timeout(GIVE_UP_SECONDS):
            response = await client.post("/v1/organisations", content=a_body_that_stalls(), headers=headers)
        assert_timed_out(response.status_code, response.json())
        # The key was never claimed: the same key with a whole body is a first request, not a replay.
        whole = await client.post(
            "/v1/organisations",
            json={"name": "Finished Trust", "kind": "foundation"},
            headers={"Idempotency-Key": "stalled-1"},
        )
        assert whole.status_code == 201, whole.text
        assert "idempotent-replayed" not in whole.headers


async def test_a_body_that_keeps_coming_is_not_cut_off(admin_key: str) -> None:
    """The timeout is for a pause, not for the whole body: parts that keep arriving are read."""

    body = b'{"name": "Steady Trust", "kind": "foundation"}'
    parts = [body[i : i + 6] for i in range(0, len(body), 6)]  # 8 parts, 1.2 s in all: twice the timeout

    async def slow_but_steady() -> AsyncIterator[bytes]:
        for part in parts:
            await asyncio.sleep(0.15)
            yield part

    app = create_app(dataclasses.replace(Settings.from_env(), body_read_timeout=0.6))
    async with make_client(app, admin_key) as client:
        response = await client.post(
            "/v1/organisations", content=slow_but_steady(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 201, response.text


def test_behind_granian_a_stalled_body_is_answered_408(admin_key: str) -> None:
    with served({"REDIS_URL": "", "BODY_READ_TIMEOUT": "1"}, workers=1) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=GIVE_UP_SECONDS) as connection:
            connection.sendall(
                b"POST /v1/organisations HTTP/1.1\r\nHost: placenet.test\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {admin_key}\r\n".encode()
                + b"Content-Length: 200\r\n\r\n"
                + STALLED_BODY
            )
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer
        assert_timed_out(408, httpx.Response(408, content=body).json())
        found = httpx.get(f"{server.url}/v1/organisations", params={"q": "Never Finished"}, timeout=10)
        assert found.json()["items"] == []
