"""What operators see: a request id on every request (the caller's `X-Request-Id` when it sends a sane
one, else a new one), echoed in the response and carried by every log line; one structured access-log
line per request; and Prometheus metrics (requests and latency from Litestar's Prometheus middleware,
plus the database pool), merged across worker processes when PROMETHEUS_MULTIPROC_DIR is set."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

import msgspec
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ASGIApp
from prometheus_client import Gauge

from api.asgi import Message, Receive, Scope, Send, header
from api.services.db import engine

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

access_log = logging.getLogger("placenet.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and the record's `fields`
    (pass them as `extra={"fields": {...}}`). Kept lean: it runs for every request's access line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line, enc_hook=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        rid = request_id.get()
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        return " ".join(filter(None, [super().format(record), f"request_id={rid}" if rid else "", extra]))


_second: list[Any] = [None, ""]


def _utc(created: float) -> str:
    """ISO 8601 in UTC to the millisecond; the seconds part is formatted once a second, not per line."""
    whole = int(created)
    if whole != _second[0]:
        _second[0], _second[1] = whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}+00:00"


def configure_logging(log_format: str, level: str) -> None:
    """Placenet's loggers write to stderr, as JSON lines (LOG_FORMAT=json, the default) or plain text."""
    if log_format not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else TextFormatter("%(levelname)s %(name)s %(message)s")
    )
    logger = logging.getLogger("placenet")
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False


def request_log_middleware(app: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        sent = header(scope, b"x-request-id")
        rid = sent.decode("latin-1") if sent and REQUEST_ID.match(sent.decode("latin-1")) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                },
            )
            record_pool()
            request_id.reset(token)

    return middleware


# Summed over live worker processes in multiprocess mode.
POOL_CONNECTIONS = Gauge(
    "placenet_database_pool_connections",
    "Connections in this process's PostgreSQL pool, by state (idle or busy), summed over workers.",
    ["node", "state"],
    multiprocess_mode="livesum",
)
POOL_MAX = Gauge(
    "placenet_database_pool_max_connections",
    "The most connections the PostgreSQL pools may open, summed over workers.",
    ["node"],
    multiprocess_mode="livesum",
)


def record_pool() -> None:
    """Read the pool sizes after each request: cheap, and always fresh when Prometheus scrapes."""
    db = engine()
    nodes = {"primary": db, **getattr(db, "extra_nodes", {})}
    for node, node_engine in nodes.items():
        pool = getattr(node_engine, "pool", None)
        if pool is None:
            continue
        idle, size = pool.get_idle_size(), pool.get_size()
        POOL_CONNECTIONS.labels(node, "idle").set(idle)
        POOL_CONNECTIONS.labels(node, "busy").set(size - idle)
        POOL_MAX.labels(node).set(pool.get_max_size())


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="placenet",
        prefix="placenet",
        group_path=True,  # label by route template (/v1/grants/{ref}), never by raw path
        exclude=["^/metrics", "^/docs/static", "^/static"],
        buckets=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    )


def multiprocess_metrics() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
