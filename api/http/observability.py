"""What operators see: a request id on every request (the caller's `X-Request-Id` when it sends a sane
one, else a new one), echoed in the response and carried by every log line; one structured access-log
line per request; and Prometheus metrics (requests, errors and latency by route template and status,
plus the database pool), merged across worker processes when PROMETHEUS_MULTIPROC_DIR is set.

One middleware does all three, around Litestar's own handler: Litestar's Prometheus middleware cost
about 70 µs a request (a Request object and label dicts each time), a fifth of a single read on SQLite
(bench/results/2026-11-26-findings-session3.md); here the labelled series are looked up once and kept."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from typing import Any

import msgspec
from litestar.types import ASGIApp
from prometheus_client import Counter, Gauge, Histogram, multiprocess

from api.http.asgi import Message, Receive, Scope, Send, header
from api.services.platform.connections import engine

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
        rid = sent.decode("latin-1") if sent and REQUEST_ID.match(sent.decode("latin-1")) else os.urandom(16).hex()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        method = scope["method"]
        in_progress = _in_progress(_method_label(method))
        in_progress.inc()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            in_progress.dec()
            count(scope, _method_label(method), status, seconds)
            access_log.info(
                "%s %s %s",
                method,
                scope["path"],
                status,
                extra={
                    "fields": {
                        "method": method,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    }
                },
            )
            record_pool()
            request_id.reset(token)

    return middleware


# Requests ------------------------------------------------------------------------------------------------

APP_NAME = "placenet"
LABELS = ["method", "path", "status_code", "app_name"]
REQUESTS = Counter("placenet_requests_total", "Requests answered, by route template and status.", LABELS)
ERRORS = Counter("placenet_requests_error_total", "Requests answered with a 5xx status.", LABELS)
DURATION = Histogram(
    "placenet_request_duration_seconds",
    "Time to answer a request, in seconds, by route template and status.",
    LABELS,
    buckets=[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
)
IN_PROGRESS = Gauge(
    "placenet_requests_in_progress",
    "Requests being answered now, summed over workers.",
    ["method", "app_name"],
    multiprocess_mode="livesum",
)
# Not counted: the metrics themselves, and the docs' static files.
UNCOUNTED = re.compile(r"^/(metrics|docs/static|static)")
# A path no route matched is counted under this, never under the raw path (unbounded label values).
UNMATCHED = "<unmatched>"
_series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
_in_progress_series: dict[str, Any] = {}


# Metric labels take the methods HTTP defines; anything else a client sends is OTHER (bounded labels).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def _method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def _in_progress(method: str) -> Any:
    series = _in_progress_series.get(method)
    if series is None:
        series = _in_progress_series[method] = IN_PROGRESS.labels(method, APP_NAME)
    return series


def count(scope: Scope, method: str, status: int, seconds: float) -> None:
    """Count the answered request under its route template (`/v1/grants/{ref}`), which Litestar's
    router has put in the scope by now."""
    if UNCOUNTED.match(scope["path"]):
        return
    path = scope.get("path_template") or UNMATCHED
    key = (method, path, status)
    series = _series.get(key)
    if series is None:
        labels = (method, path, str(status), APP_NAME)
        series = _series[key] = (REQUESTS.labels(*labels), DURATION.labels(*labels), ERRORS.labels(*labels))
    requests, duration, errors = series
    requests.inc()
    duration.observe(seconds)
    if status >= 500:
        errors.inc()


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


# Degradation ---------------------------------------------------------------------------------------------

# What does without the shared store (Redis) while it does not answer (api/services/platform/store.py).
DEGRADED_FEATURES = ("rate_limit", "idempotency", "read_your_writes")
DEGRADED = Counter(
    "placenet_degraded_total",
    "Requests served without the shared store (Redis), by the feature that did without it: rate_limit (the "
    "request was not counted), idempotency (a POST with an Idempotency-Key refused with 503, or its response "
    "not kept for replay), read_your_writes (a read sent to the primary, or a write not marked).",
    ["feature"],
)
for _feature in DEGRADED_FEATURES:  # every series from the start, at 0, so a rate over it is defined
    DEGRADED.labels(_feature)


def degraded(feature: str) -> None:
    DEGRADED.labels(feature).inc()


_pool_read_at = [0.0]


def record_pool() -> None:
    """Read the pool sizes at most once a second, after a request: cheap, and fresh enough for a scrape."""
    now = time.monotonic()
    if now - _pool_read_at[0] < 1.0:
        return
    _pool_read_at[0] = now
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


def multiprocess_metrics() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def forget_dead_workers() -> None:
    """A worker killed outright (SIGKILL, out of memory) never says so, and its live gauges (requests in
    progress, pool connections) would be summed for ever; each worker that starts, the replacement among
    them, drops those of the processes that are gone. Counters stay: what they counted happened."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    pids = {int(match[1]) for name in os.listdir(directory) if (match := LIVE_GAUGE_FILE.match(name))}
    for pid in pids - {os.getpid()}:
        if not _running(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped by its parent) still answers the signal above
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except IndexError:
        return True
