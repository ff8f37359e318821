"""Whether the database answers, for readiness checks."""

from __future__ import annotations

from api.services.db import engine
from api.services.errors import ServiceUnavailable


async def check_ready() -> None:
    """Raise ServiceUnavailable unless the database answers."""
    try:
        await engine().run_ddl("SELECT 1")
    except Exception as error:  # any failure to answer means not ready; the check itself must not fail
        raise ServiceUnavailable("The database does not answer; try again shortly.") from error
