"""/health (the process is alive), /ready (the database and shared store answer), for load balancers
and orchestrators, and /metrics for Prometheus."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Meta
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api.http.errors import PROBLEM_MEDIA_TYPE
from api.http.observability import multiprocess_metrics
from api.schemas.common import Problem
from api.services.platform import health


class Status(msgspec.Struct):
    """The service's state."""

    status: Annotated[Literal["ok"], Meta(description="Always `ok` when the service can answer at all.")]


class Readiness(msgspec.Struct):
    """Whether the service is ready, and whether in full."""

    status: Annotated[
        Literal["ok", "degraded"],
        Meta(
            description="`ok`: the database and the shared store (Redis, when set) answer. `degraded`: the database "
            "answers but Redis does not; reads and writes are served, rate limits are not counted, POSTs with an "
            "Idempotency-Key are refused with 503, and a client's reads go to the primary "
            "(`placenet_degraded_total` in /metrics counts each)."
        ),
    ]


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
            503: ResponseSpec(Problem, description="The database does not answer.", media_type=PROBLEM_MEDIA_TYPE)
        },
    )
    async def get_ready(self) -> Readiness:
        """Answers 200 when the database answers, and 503 with `Retry-After` when it does not. Redis not
        answering is `degraded`, still 200: every instance shares it, so failing on it would take them all out
        of service at once."""
        return Readiness(status=await health.check_ready())

    @get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST)
    async def get_metrics(self) -> Response[bytes]:
        """Requests by route and status, request latency, and the database pool, in the Prometheus text
        format; summed over every worker process when the service runs several."""
        registry = REGISTRY
        if multiprocess_metrics():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
