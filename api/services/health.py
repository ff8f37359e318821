"""Whether the database and the shared store answer, for readiness checks."""

from __future__ import annotations

from api.services.db import engine
from api.services.errors import ServiceUnavailable
from api.services.shared import store


async def check_ready() -> None:
    """Raise ServiceUnavailable unless the database and the shared store answer."""
    try:
        await engine().run_ddl("SELECT 1")
    except Exception as error:  # any failure to answer means not ready; the check itself must not fail
        raise ServiceUnavailable("The database does not answer; try again shortly.") from error
    try:
        await store().ping()
    except Exception as error:  # Redis down: idempotency and rate limits cannot be honoured, so not ready
        raise ServiceUnavailable("The shared store (Redis) does not answer; try again shortly.") from error
