"""Whether the database and the shared store answer, for readiness checks."""

from __future__ import annotations

from typing import Literal

from api.services.platform.connections import engine
from api.services.platform.errors import ServiceUnavailable
from api.services.platform.store import store


async def check_ready() -> Literal["ok", "degraded"]:
    """Raise ServiceUnavailable unless the database answers; "degraded" when only the shared store (Redis)
    does not. Not a 503 then: every instance shares the one Redis, so a readiness probe that failed on it would
    take every instance out of the load balancer at once, turning a degraded service into no service."""
    try:
        await engine().run_ddl("SELECT 1")
    except Exception as error:  # any failure to answer means not ready; the check itself must not fail
        raise ServiceUnavailable("The database does not answer; try again shortly.") from error
    try:
        await store().ping()
    except Exception:  # Redis down (or refusing us): served without it, as documented
        return "degraded"
    return "ok"
