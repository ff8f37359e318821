"""360Giving imports sent over HTTP: a small JSON file is imported while the request waits; a large one,
or any spreadsheet, is accepted as a job that runs in the background of the worker that took it, and is
followed at `/v1/imports/{id}`.

- Which: a JSON package of at most SYNC_GRANTS grants answers 200 with the report, as it always has,
  and so does a file with no rows of grants (a 422 saying so). Anything else answers 202 with the
  job; the file's limits are checked first (in the sandbox), so a file that breaks one is refused at
  once, 413 or 422, and no job is made.
- The job runs as an asyncio task in the worker that accepted it, and is kept in the database
  (`ImportJob`) so that any worker can answer for it. The import is the same all-or-nothing import
  (importer.py), in one transaction, with the same change-feed entries.
- A worker that dies (or is stopped) mid-job takes the job with it: its transaction never commits, so
  nothing is written. While a job runs its worker stamps `heartbeat_at` every HEARTBEAT_SECONDS; a
  queued or running job whose heartbeat is older than STALE_SECONDS is failed by the next read of it,
  with a problem saying so. (A SQLite worker cannot stamp while its own import holds the write lock,
  hence the generous margin: a 100,000-grant write phase takes well under a minute.)
- Who: a job belongs to the organisation whose key sent the file; that organisation's keys and admin
  keys may read it; to anyone else it does not exist (404)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import uuid
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import msgspec

from api.schemas.common import FieldError, Problem, problem
from api.schemas.imports import FileFormat, ImportJob, ImportReport, JobProgress
from api.services.giving360 import convert, importer, sandbox
from api.services.giving360.issues import FileTooLarge
from api.services.giving360.limits import LIMITS
from api.services.platform.actors import Actor
from api.services.platform.errors import NotFound, ServiceError
from models.tables import ImportJob as Job

# JSON packages of up to this many grants are imported while the request waits: about 2 MB, a second or two.
SYNC_GRANTS = 2_000
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 300.0
log = logging.getLogger("placenet.imports")

# The jobs this process is running, so that they are neither collected nor judged stale by it.
_running: dict[UUID, asyncio.Task[None]] = {}


async def submit(
    content: bytes,
    *,
    content_type: str | None,
    source_url: str | None,
    dry_run: bool,
    actor: Actor,
    retire_missing: bool = False,
) -> ImportReport | ImportJob:
    """Import a file sent over HTTP (its Content-Type says its format; its name is the source URL's last
    part, when there is one): the report of a small JSON file, or the job that imports anything larger."""
    file_format = convert.format_for_media_type(content_type)
    name = (source_url or "").rstrip("/").rsplit("/", 1)[-1][:200] or f"upload.{file_format}"
    if len(content) > LIMITS.file_bytes:
        raise FileTooLarge(f"The file is {len(content) // 1_000_000} MB; files of up to 50 MB can be imported.")
    grants = await _inspect(content, file_format)
    # A file with no grants at all is refused at once, as it always was: there is nothing to wait for.
    if grants == 0 or (file_format == "json" and (grants or 0) <= SYNC_GRANTS):
        return await importer.import_file(
            content,
            file_format=file_format,
            file_name=name,
            actor=actor,
            source_url=source_url,
            dry_run=dry_run,
            retire_missing=retire_missing,
        )
    return await start(
        content,
        file_format,
        name,
        source_url=source_url,
        dry_run=dry_run,
        actor=actor,
        grants=grants,
        retire_missing=retire_missing,
    )


async def _inspect(content: bytes, file_format: FileFormat) -> int | None:
    """The file's limits checked and its grants counted, in the sandbox. Whatever else goes wrong there
    (sandbox.py turns a reader's failure into a refusal already; this is the backstop) is the file
    unreadable, a 422, never a 500."""
    try:
        return await sandbox.run(convert.inspect, content, file_format, LIMITS)
    except ServiceError:
        raise
    except Exception:
        log.exception("checking an uploaded %s file failed", file_format)
        raise sandbox.failed("checking it failed unexpectedly") from None


async def start(
    content: bytes,
    file_format: FileFormat,
    name: str,
    *,
    source_url: str | None,
    dry_run: bool,
    actor: Actor,
    grants: int | None = None,
    retire_missing: bool = False,
) -> ImportJob:
    """Record a job and start it in the background of this worker."""
    job_id = uuid.uuid4()
    await Job.insert(
        Job(
            id=job_id,
            state="queued",
            file=name,
            format=file_format,
            dry_run=dry_run,
            source_url=source_url,
            organisation=actor.organisation_id,
            grants_in_file=grants,
        )
    )
    task = asyncio.create_task(
        _run(job_id, content, file_format, name, source_url, dry_run, actor, retire_missing), name=f"import {job_id}"
    )
    _running[job_id] = task
    task.add_done_callback(lambda _: _running.pop(job_id, None))
    return await get(job_id, actor)


async def get(job_id: UUID, actor: Actor) -> ImportJob:
    """A job as its sender (or an admin) sees it; a job whose worker has stopped is failed first."""
    row = await Job.select().where(Job.id == job_id).first()
    if row is None or not (actor.is_admin or row["organisation"] == actor.organisation_id):
        raise NotFound(f"There is no import job {job_id} that this key may see.")
    if row["state"] in ("queued", "running") and job_id not in _running and _stale(row["heartbeat_at"]):
        await _fail_stale(job_id, row["heartbeat_at"])
        row = await Job.select().where(Job.id == job_id).first() or row
    return _job(row)


async def wait(job_id: UUID, actor: Actor) -> ImportJob:
    """The job once it has ended, when this process runs it (for tests and the command line)."""
    task = _running.get(job_id)
    if task is not None:
        await asyncio.shield(task)
    return await get(job_id, actor)


def _stale(heartbeat: datetime.datetime) -> bool:
    return (_now() - _aware(heartbeat)).total_seconds() > STALE_SECONDS


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def _fail_stale(job_id: UUID, heartbeat: datetime.datetime) -> None:
    stopped = _problem(
        500,
        "The worker running this import stopped before it finished (its last heartbeat was at "
        f"{_aware(heartbeat).isoformat(timespec='seconds')}), so nothing was written. Send the file again.",
    )
    # Only if it is still as it was read: the worker may have finished it meanwhile.
    await Job.update({Job.state: "failed", Job.problem: stopped, Job.finished_at: _now()}).where(
        Job.id == job_id, Job.state.is_in(["queued", "running"]), Job.heartbeat_at == heartbeat
    )


async def _run(
    job_id: UUID,
    content: bytes,
    file_format: FileFormat,
    name: str,
    source_url: str | None,
    dry_run: bool,
    actor: Actor,
    retire_missing: bool = False,
) -> None:
    counts = {"written": 0, "to_write": 0}

    def progress(total: int) -> Any:
        counts["to_write"] = total

        def tick() -> None:
            counts["written"] += 1

        return tick

    # Made before the import opens its transaction, so its stamps are writes of their own.
    heartbeat = asyncio.create_task(_beat(job_id, counts))
    outcome: dict[Any, Any]
    try:
        await Job.update({Job.state: "running", Job.heartbeat_at: _now()}).where(Job.id == job_id)
        report = await importer.import_file(
            content,
            file_format=file_format,
            file_name=name,
            actor=actor,
            source_url=source_url,
            dry_run=dry_run,
            retire_missing=retire_missing,
            progress=progress,
        )
        outcome = {Job.state: "succeeded", Job.report: msgspec.json.encode(report).decode()}
    except ServiceError as error:
        outcome = {Job.state: "failed", Job.problem: _problem(error.status, error.detail, error.errors)}
    except Exception:
        log.exception("import job %s failed", job_id)
        outcome = {
            Job.state: "failed",
            Job.problem: _problem(500, "The import failed unexpectedly; nothing was written."),
        }
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    await Job.update(
        {
            **outcome,
            Job.written: counts["written"],
            Job.to_write: counts["to_write"],
            Job.heartbeat_at: _now(),
            Job.finished_at: _now(),
        }
    ).where(Job.id == job_id)


async def _beat(job_id: UUID, counts: dict[str, int]) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await Job.update(
                {Job.heartbeat_at: _now(), Job.written: counts["written"], Job.to_write: counts["to_write"]}
            ).where(Job.id == job_id)
        except Exception as error:  # a missed beat is not the import's failure
            log.warning("import job %s: heartbeat not recorded: %s", job_id, error)


def _problem(status: int, detail: str, errors: Iterable[FieldError] | None = None) -> str:
    return msgspec.json.encode(problem(status, detail, list(errors) if errors else None)).decode()


def _decoded(value: Any, kind: type[Any]) -> Any:
    if value is None:
        return None
    return msgspec.json.decode(value, type=kind) if isinstance(value, str | bytes) else msgspec.convert(value, kind)


def _job(row: dict[str, Any]) -> ImportJob:
    return ImportJob(
        id=row["id"],
        state=row["state"],
        file=row["file"],
        format=row["format"],
        dry_run=row["dry_run"],
        grants_in_file=row["grants_in_file"],
        progress=JobProgress(written=row["written"], to_write=row["to_write"]),
        created_at=_aware(row["created_at"]),
        heartbeat_at=_aware(row["heartbeat_at"]),
        finished_at=_aware(row["finished_at"]) if row["finished_at"] else None,
        report=_decoded(row["report"], ImportReport),
        problem=_decoded(row["problem"], Problem),
    )
