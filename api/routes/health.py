"""/health (the process is alive), /ready (the database and shared store answer), for load balancers
and orchestrators, and /metrics for Prometheus."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Meta
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api.errors import PROBLEM_MEDIA_TYPE
from api.observability import multiprocess_metrics
from api.schemas.common import Problem
from api.services import health


class Status(msgspec.Struct):
    """The service's state."""

    status: Annotated[Literal["ok"], Meta(description="Always `ok` when the service can answer at all.")]


class HealthController(Controller):
    path = "/"
    tags = ["Operations"]

    @get("/health", summary="Is the process alive?")
    async def get_health(self) -> Status:
        """Answers 200 whenever the process is running, whatever the database is doing."""
        return Status(status="ok")

    @get(
        "/ready",
        summary="Is the service ready to serve?",
        responses={
            503: ResponseSpec(
                Problem, description="The database or the shared store does not answer.", media_type=PROBLEM_MEDIA_TYPE
            )
        },
    )
    async def get_ready(self) -> Status:
        """Answers 200 when the database (and Redis, when the service uses it) answers, and 503 with
        `Retry-After` when either does not."""
        await health.check_ready()
        return Status(status="ok")

    @get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def get_metrics(self) -> Response[bytes]:
        """Requests by route and status, request latency, and the database pool, in the Prometheus text
        format; summed over every worker process when the service runs several."""
        registry = REGISTRY
        if multiprocess_metrics():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
