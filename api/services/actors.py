"""Who is acting: every write goes through a service that is told who, so ownership can be checked
and provenance recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    """The organisation behind a write (if known), its role, and the channel the data came through."""

    organisation_id: UUID | None = None
    role: Literal["anonymous", "partner", "admin"] = "anonymous"
    source: Literal["api", "fixture", "360giving"] = "api"
    source_url: str | None = None


# Until API keys exist every write is anonymous and open; the key issue replaces this.
API_WRITER = Actor()
