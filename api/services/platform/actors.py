"""Who is acting: every write goes through a service that is told who, so ownership can be checked,
provenance recorded and the change logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

Role = Literal["partner", "admin", "system"]


@dataclass(frozen=True)
class Actor:
    """The organisation behind a write, its role, the channel the data came through, and the version
    the writer last saw (from If-Match), if it gave one.

    `system` is the operator's own command line (fixtures, imports): trusted like an admin, but
    never reachable through the HTTP API, where every writer is a key's organisation."""

    organisation_id: UUID | None = None
    role: Role = "system"
    source: Literal["api", "fixture", "360giving"] = "api"
    source_url: str | None = None
    expected_version: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "system")
