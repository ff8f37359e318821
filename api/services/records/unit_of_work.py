"""The one write path. Every write (the record engine, owned rows, 360Giving imports, fixture loads)
runs inside `unit_of_work(actor)`, which

- opens the write transaction (writers one at a time: platform.connections.write_transaction),
- stamps provenance on what is made (`Work.stamp`),
- collects the change-feed entries of what is written (`Work.log`, or `Work.logged` for rows a bulk
  writer prepared itself) and appends them in one insert just before commit, and
- then runs the after-write steps installed at start-up (the map's tallies), in the same transaction,
  so a read model never disagrees with the records it was read from.

A unit of work opened inside another joins it: the outer one commits, logs and runs the steps once. The
steps are installed by the composition root (api/services/wiring.py) rather than imported here, so this
tier knows nothing of the views above it; a write with none installed is refused rather than leaving
the tallies behind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from api.services.platform.actors import Actor
from api.services.platform.clock import now
from api.services.platform.connections import write_transaction
from api.services.platform.sql import insert_rows
from api.services.records.changes import Entry, entry_row
from models.tables import Change

Row = dict[str, Any]


@dataclass(frozen=True)
class Written:
    """One record a unit of work wrote, as the after-write steps see it."""

    collection: str
    record_id: UUID
    owner_id: UUID | None = None
    # A place moved under another parent: the ancestry of everything below it changes.
    reparented: bool = False


AfterWrite = Callable[[Sequence[Written]], Awaitable[None]]
_steps: tuple[AfterWrite, ...] | None = None


def install(*steps: AfterWrite) -> None:
    """The steps every unit of work runs before it commits, in order (replacing any installed before)."""
    global _steps
    _steps = steps


def installed() -> tuple[AfterWrite, ...]:
    return _steps or ()


@dataclass
class _Batch:
    """What one transaction has written so far: its change-feed rows and the records they name."""

    transaction: Any
    rows: list[Row] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)


class Savepoint:
    """A point inside a unit of work to roll back to, dropping both the writes and the log since."""

    def __init__(self, batch: _Batch, savepoint: Any) -> None:
        self._batch, self._savepoint = batch, savepoint
        self._mark = len(batch.rows)

    async def rollback_to(self) -> None:
        await self._savepoint.rollback_to()
        del self._batch.rows[self._mark :]
        del self._batch.written[self._mark :]


class Work:
    """One writer's part in a unit of work: who writes, the time it writes at, and its log."""

    def __init__(self, actor: Actor, batch: _Batch) -> None:
        self.actor = actor
        self.at = now()
        self._batch = batch

    def stamp(self) -> Row:
        """The provenance a new record is given: who contributed it, through which channel, and when."""
        return {
            "contributed_by": self.actor.organisation_id,
            "source": self.actor.source,
            "source_url": self.actor.source_url,
            "created_at": self.at,
            "updated_at": self.at,
            "version": 1,
        }

    def log(
        self,
        collection: str,
        operation: str,
        before: msgspec.Struct | None,
        after: msgspec.Struct | None,
        owner_id: UUID | None = None,
    ) -> None:
        """One record written, as the API shows it before and after."""
        self.logged(
            [entry_row(collection, operation, before, after, self.actor, owner_id, self.at)],
            [(operation, before, after)],
        )

    def logged(self, rows: Sequence[Row], entries: Sequence[Entry]) -> None:
        """Change-feed rows a bulk writer made itself (`changes.entry_rows`), with the entries they log."""
        self._batch.rows.extend(rows)
        self._batch.written.extend(
            _written(row, before, after) for row, (_, before, after) in zip(rows, entries, strict=True)
        )

    async def savepoint(self) -> Savepoint:
        return Savepoint(self._batch, await self._batch.transaction.savepoint())


_current: ContextVar[_Batch | None] = ContextVar("unit_of_work", default=None)


@asynccontextmanager
async def unit_of_work(actor: Actor) -> AsyncIterator[Work]:
    """A write by `actor`: committed with its change-feed entries and after-write steps, or not at all."""
    batch = _current.get()
    if batch is not None:
        yield Work(actor, batch)
        return
    if _steps is None:
        raise RuntimeError("no after-write steps are installed: call api.services.wiring.install() at start-up")
    async with write_transaction() as transaction:
        batch = _Batch(transaction)
        token = _current.set(batch)
        try:
            yield Work(actor, batch)
            await insert_rows(Change, batch.rows)
            for step in _steps:
                await step(batch.written)
        finally:
            _current.reset(token)


def _written(row: Row, before: msgspec.Struct | None, after: msgspec.Struct | None) -> Written:
    # A place with records in it cannot be deleted, so only a move (to another parent, or in or out of
    # a larger place) changes what the tallies count.
    reparented = (
        row["collection"] == "places"
        and None not in (before, after)
        and any(
            getattr(before, name, None) != getattr(after, name, None) for name in ("parent", "also_within", "level")
        )
    )
    return Written(row["collection"], row["record_id"], row["owner_id"], reparented)
