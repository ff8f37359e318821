"""/health (the process is alive) and /ready (the database answers), for load balancers and
orchestrators."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Meta

from api.errors import PROBLEM_MEDIA_TYPE
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
            503: ResponseSpec(Problem, description="The database does not answer.", media_type=PROBLEM_MEDIA_TYPE)
        },
    )
    async def get_ready(self) -> Status:
        """Answers 200 when the database answers, and 503 with `Retry-After` when it does not."""
        await health.check_ready()
        return Status(status="ok")
