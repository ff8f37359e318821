"""API keys: made and revoked by admins on the command line, checked on every write.

A key is `pn_<prefix>_<secret>`. Only its SHA-256 is stored; the prefix finds the row and the hash
is compared in constant time. The secret is shown once, when the key is made, and never logged."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from api.services.platform.actors import Actor, Role
from api.services.platform.clock import now
from api.services.platform.errors import InvalidRequest, NotFound
from api.services.records import resource as records
from models.tables import ApiKey

KEY_PREFIX = "pn_"


@dataclass(frozen=True)
class KeyInfo:
    id: UUID
    prefix: str
    organisation: str | None
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_key(*, organisation: str | None, role: Role, name: str = "") -> tuple[KeyInfo, str]:
    """A new key for an organisation (an admin key may have none); returns it and the secret, which
    is not stored."""
    if organisation is None and role != "admin":
        raise InvalidRequest("A partner key writes for an organisation: name it.")
    organisation_id = await records.resolve(records.ORGANISATION, organisation) if organisation else None
    prefix = secrets.token_hex(4)
    token = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=uuid4(),
        organisation=organisation_id,
        role=role,
        name=name,
        prefix=prefix,
        secret_hash=_digest(token),
        created_at=now(),
    )
    await ApiKey.insert(row)
    return (await _infos(ApiKey.id == row.id))[0], token


async def _infos(*where: Any) -> list[KeyInfo]:
    query = ApiKey.select(
        ApiKey.id,
        ApiKey.prefix,
        ApiKey.organisation.slug.as_alias("organisation"),
        ApiKey.role,
        ApiKey.name,
        ApiKey.created_at,
        ApiKey.revoked_at,
    ).order_by(ApiKey.created_at)
    if where:
        query = query.where(*where)
    return [KeyInfo(**row) for row in await query]


async def list_keys() -> list[KeyInfo]:
    return await _infos()


async def revoke_key(*, prefix: str) -> KeyInfo:
    found = await ApiKey.select(ApiKey.id).where(ApiKey.prefix == prefix).first()
    if found is None:
        raise NotFound(f"There is no key with the prefix '{prefix}'.")
    await ApiKey.update({ApiKey.revoked_at: now()}).where(ApiKey.id == found["id"], ApiKey.revoked_at.is_null())
    return (await _infos(ApiKey.id == found["id"]))[0]


async def authenticate(token: str) -> Actor | None:
    """The actor a bearer token stands for, or None for an unknown, malformed or revoked key."""
    parts = token.removeprefix(KEY_PREFIX).split("_", 1)
    if not token.startswith(KEY_PREFIX) or len(parts) != 2:
        return None
    row = (
        await ApiKey.select(ApiKey.organisation, ApiKey.role, ApiKey.secret_hash, ApiKey.revoked_at)
        .where(ApiKey.prefix == parts[0])
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        return None
    if not hmac.compare_digest(row["secret_hash"], _digest(token)):
        return None
    return Actor(organisation_id=row["organisation"], role=row["role"], source="api")


__all__ = ["KeyInfo", "authenticate", "create_key", "list_keys", "revoke_key"]
