"""`placenet`: the admin command line: serve, migrate, fixtures, 360Giving import and export, places
rematch, organisations' duplicates and merges, openapi."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from api.settings import Settings

T = TypeVar("T")
HEADER_READ_TIMEOUT_MS = 30_000


@click.group()
def main() -> None:
    """Placenet: an open JSON API for how funders work together in places."""
    from api.services import wiring

    wiring.install()


# Migrations after which the places' ancestors are worked out again (`ANCESTRY_AFTER`), the map's
# tallies counted again from the records (`RECOUNT_AFTER`) and the network's links (`RELINK_AFTER`), with
# today's code on today's schema, once every migration has run.
ANCESTRY_AFTER = {"2026-12-07T18:30:01:000000"}
RECOUNT_AFTER = {"2026-11-26T15:30:01:000000", "2026-12-07T20:00:00:000000", *ANCESTRY_AFTER}
RELINK_AFTER = {"2026-12-07T19:00:00:000000", "2026-12-07T20:00:02:000000"}
MIGRATIONS = Path(__file__).resolve().parent.parent / "models" / "piccolo_migrations"


async def run_migrations() -> list[str]:
    """Bring the tables up to date; the ids of the migrations this run applied, oldest first.

    Piccolo's own report is kept back: on a new database it says the migrations are both "already
    complete" and "not yet run", so `migrate` says what happened in its own words."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    from api.services import wiring
    from api.services.resources import places
    from api.services.views import links, tally

    await Migration.create_table(if_not_exists=True)
    before = set(await Migration.get_migrations_which_ran(app_name="models"))
    with contextlib.redirect_stdout(io.StringIO()) as report:
        result = await run_forwards(app_name="models", migration_id="all")
    if not result.success:
        raise click.ClickException(f"migrations failed: {result.message}\n{report.getvalue()}")
    applied = sorted(set(await Migration.get_migrations_which_ran(app_name="models")) - before)
    wiring.install()
    if ANCESTRY_AFTER & set(applied):
        await places.rebuild_ancestry()
    if RECOUNT_AFTER & set(applied):
        await tally.rebuild()
    if RELINK_AFTER & set(applied):
        await links.rebuild()
    return applied


async def check_database() -> None:
    """Refuse to start, with one clear line, when the database cannot be reached."""
    from api.services.platform import connections as database

    try:
        await database.open()
    except database.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    await database.close()


@main.command()
def migrate() -> None:
    """Bring the database's tables up to date (SQLite file by default, or DATABASE_URL)."""
    applied = asyncio.run(run_migrations())
    where = _database_name()
    if applied:
        click.echo(f"Applied {len(applied)} migration{'s' if len(applied) != 1 else ''} to {where}:", err=True)
        for migration_id in applied:
            click.echo(f"  {migration_id}", err=True)
    else:
        click.echo(f"{where} is up to date: no migration to apply.", err=True)


def _database_name() -> str:
    """The database migrated, named without its password."""
    url = Settings.from_env().database_url
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


@main.command()
def recount() -> None:
    """Count the map's tallies and the network's links again from the records. Every write keeps them
    true; this is for data written past the API (a bulk COPY, a restore) and takes minutes at a million
    grants."""
    from api.services.views import links, tally

    started = time.perf_counter()
    asyncio.run(_with_database(tally.rebuild))
    click.echo(f"recounted the map's tallies in {time.perf_counter() - started:.1f} s", err=True)
    started = time.perf_counter()
    asyncio.run(_with_database(links.rebuild))
    click.echo(f"recounted the network's links in {time.perf_counter() - started:.1f} s", err=True)


@main.command()
@click.option("--host", default=None, help="Address to listen on [default: HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: PORT or 8000].")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
def serve(host: str | None, port: int | None, workers: int, reload: bool) -> None:
    """Serve the API with granian; docs at /docs. A worker that dies (killed, out of memory) is replaced
    at once, and the others keep answering meanwhile."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    settings = Settings.from_env()
    asyncio.run(check_database())
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics to files here and /metrics sums them, whichever worker answers.
        # Set before any worker imports prometheus_client, which reads it at import time.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="placenet-metrics-")
    click.echo(f"Placenet on http://{host or settings.host}:{port or settings.port} (docs at /docs)", err=True)
    Server(
        "api.app:create_app",
        address=host or settings.host,
        port=port or settings.port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        reload=reload,
        # Without it, one dead worker ends the whole server. granian still gives up when the same worker
        # dies again within 5.5 s of being replaced (a crash loop): a supervisor restarts the server then.
        respawn_failed_workers=True,
        # A client must send its request headers within this long (granian's default, made explicit); the
        # body has a timeout of its own in the app (BODY_READ_TIMEOUT, api/http/timeouts.py).
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT_MS),
    ).serve()


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def openapi(path: Path | None) -> None:
    """Write the OpenAPI spec generated from the code to PATH (or stdout)."""
    from api.app import create_app
    from api.http.openapi import spec_json

    text = spec_json(create_app())
    if path is None:
        click.echo(text, nl=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@main.group()
def fixtures() -> None:
    """Load and dump fixture files (YAML or JSON, records referring to each other by natural key)."""


@fixtures.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
def fixtures_load(paths: tuple[Path, ...], dry_run: bool) -> None:
    """Validate PATHS whole, then write them in one transaction: all or nothing, and re-runnable."""
    from fixtures.loader import FixtureError, load

    async def run() -> None:
        from api.services.platform import connections as database

        await database.open()
        try:
            await require_migrated()
            with progress_bar() as bar:
                report = await load(list(paths), dry_run=dry_run, progress=bar)
        finally:
            await database.close()
        for line in report.lines():
            click.echo(line)
        click.echo(("dry run: nothing written; " if dry_run else "") + f"{report.changes()} changes")

    try:
        asyncio.run(run())
    except FixtureError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{len(error.problems)} problems; nothing was written") from None


@fixtures.command("dump")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .json or .yaml file [default: JSON to stdout].",
)
def fixtures_dump(output: Path | None) -> None:
    """Write every stored record as a fixture file that `fixtures load` takes back unchanged. Grants'
    360Giving-only data has no place in a fixture file: the dump says how many grants hold some, and
    `placenet export 360giving` writes them whole."""
    import json

    import yaml

    from fixtures.loader import dump, left_out_of_dumps

    async def run() -> tuple[dict[str, Any], int]:
        from api.services.platform import connections as database

        await database.open()
        try:
            await require_migrated()
            return await dump(), await left_out_of_dumps()
        finally:
            await database.close()

    data, left_out = asyncio.run(run())
    if left_out:
        click.echo(
            f"{left_out} grant{'s hold' if left_out != 1 else ' holds'} 360Giving data a fixture file has no place "
            "for (amounts applied for and disbursed, URLs, codes, unmatched locations, fields outside the "
            "standard); this dump leaves it out. `placenet export 360giving` writes it whole.",
            err=True,
        )
    if output is None:
        click.echo(json.dumps(data, indent=1, ensure_ascii=False))
    elif output.suffix in (".yaml", ".yml"):
        output.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    else:
        output.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@main.group("import")
def import_group() -> None:
    """Import grant files that funders publish."""


@import_group.command("360giving")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
@click.option("--source-url", help="Where the file was published; the grants record it as their source.")
@click.option(
    "--retire-missing",
    is_flag=True,
    help="Delete the publisher's grants the file no longer has (else only reported), through the change feed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="List each warning, not only how many of each kind.")
def import_360giving(
    path: Path, dry_run: bool, source_url: str | None, retire_missing: bool, as_json: bool, verbose: bool
) -> None:
    """Import a 360Giving file (.json, .csv or .xlsx): validated whole, then written all or nothing."""
    import msgspec

    from api.schemas.imports import ImportReport
    from api.services.giving360 import convert, importer
    from api.services.giving360.issues import ImportRefused
    from api.services.platform.actors import Actor
    from api.services.platform.errors import ServiceError

    content = path.read_bytes()

    async def run() -> ImportReport:
        from api.services.platform import connections as database

        await database.open()
        try:
            await require_migrated()
            with progress_bar() as bar:
                return await importer.import_file(
                    content,
                    file_format=convert.format_for_file(path),
                    file_name=path.name,
                    actor=Actor(),  # the operator, at the command line
                    source_url=source_url,
                    dry_run=dry_run,
                    retire_missing=retire_missing,
                    progress=bar,
                )
        finally:
            await database.close()

    try:
        report = asyncio.run(run())
    except ImportRefused as error:
        for issue in error.issues:
            grant = f" (grant {issue.grant})" if issue.grant else ""
            click.echo(f"{issue.where or path.name}{grant}: {issue.kind}: {issue.message}", err=True)
        count = len(error.issues)
        raise click.ClickException(f"{count} error{'s' if count != 1 else ''}; nothing was written") from None
    except ServiceError as error:
        raise click.ClickException(error.detail) from None
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
        return
    if verbose:
        for issue in report.warnings:
            grant = f" (grant {issue.grant})" if issue.grant else ""
            click.echo(f"{issue.where or path.name}{grant}: {issue.kind}: {issue.message}", err=True)
    for line in importer.report_lines(report):
        click.echo(line)


@main.group()
def places() -> None:
    """The places grants are matched to."""


@places.command("rematch")
@click.option("--dry-run", is_flag=True, help="Match and report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def places_rematch(dry_run: bool, as_json: bool) -> None:
    """Match every imported grant's published locations (and its recipient's address) to places again,
    after the gazetteer has improved: a grant whose places change is written, with a change-feed entry,
    and the map's counts follow. Run it again and nothing changes."""
    import msgspec

    from api.schemas.imports import RematchReport
    from api.services.giving360 import rematch
    from api.services.platform.actors import Actor

    async def run() -> RematchReport:
        with progress_bar(("matching", "writing")) as bar:
            return await rematch.rematch(actor=Actor(), dry_run=dry_run, progress=bar)

    report = asyncio.run(_with_database(run))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
        return
    for line in rematch.report_lines(report):
        click.echo(line)


@main.group("export")
def export_group() -> None:
    """Export grants as open data."""


@export_group.command("360giving")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="A .json or .csv file [default: stdout]."
)
@click.option("--csv", "as_csv", is_flag=True, help="The official one-sheet CSV (implied by an output ending .csv).")
@click.option("--funder", help="Only grants made by this funder (UUID, slug or org-id).")
@click.option("--recipient", help="Only grants to this recipient.")
@click.option("--organisation", help="Only grants this organisation made or received.")
@click.option("--place", help="Only grants benefiting this place or a place below it (slug or GSS code).")
@click.option("--programme", help="Only grants from this programme (exact name).")
@click.option("--awarded-from", type=click.DateTime(["%Y-%m-%d"]), help="Only grants awarded on or after this day.")
@click.option("--awarded-to", type=click.DateTime(["%Y-%m-%d"]), help="Only grants awarded on or before this day.")
def export_360giving(
    output: Path | None,
    as_csv: bool,
    funder: str | None,
    recipient: str | None,
    organisation: str | None,
    place: str | None,
    programme: str | None,
    awarded_from: Any,
    awarded_to: Any,
) -> None:
    """Write grants as a 360Giving package (or its CSV) that validates against the official schema."""
    from api.services.giving360 import exporter
    from api.services.giving360.exporter import GrantExport
    from api.services.platform.errors import ServiceError
    from api.services.resources import grants

    filters = grants.GrantFilters(
        funder=funder,
        recipient=recipient,
        organisation=organisation,
        place=place,
        programme=programme,
        awarded_from=awarded_from.date() if awarded_from else None,
        awarded_to=awarded_to.date() if awarded_to else None,
    )
    csv = as_csv or (output is not None and output.suffix.lower() == ".csv")

    async def run() -> GrantExport:
        from api.services.platform import connections as database

        await database.open()
        try:
            await require_migrated()
            return await exporter.export_grants(filters, sort="name", as_csv=csv)
        finally:
            await database.close()

    try:
        export = asyncio.run(run())
    except ServiceError as error:
        raise click.ClickException(error.detail) from None
    if output is None:
        sys.stdout.buffer.write(export.content)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(export.content)
    click.echo(f"{export.grants} grants", err=True)
    if export.omitted:
        click.echo(
            f"{len(export.omitted)} grants left out: 360Giving requires an amount awarded and an award date "
            f"({', '.join(export.omitted[:10])}{', ...' if len(export.omitted) > 10 else ''})",
            err=True,
        )


@contextmanager
def progress_bar(stages: Sequence[str] = ("writing",)) -> Iterator[Callable[[int], Callable[[], None]]]:
    """Progress on stderr: a rich bar in a terminal; in a log, a line every 500 records. Each time the
    work starts counting it is the next of `stages` (the last one again once they run out)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    started = 0

    def stage() -> str:
        nonlocal started
        started += 1
        return stages[min(started, len(stages)) - 1]

    if not console.is_terminal:

        def lines(total: int) -> Callable[[], None]:
            done, name = 0, stage()

            def tick() -> None:
                nonlocal done
                done += 1
                if done % 500 == 0 or done == total:
                    click.echo(f"{name} {done}/{total}", err=True)

            return tick

        yield lines
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:

        def start(total: int) -> Callable[[], None]:
            task = bar.add_task(stage(), total=total)
            return lambda: bar.advance(task)

        yield start


@main.group()
def keys() -> None:
    """API keys: partners write their own records with one; admins may do anything."""


async def require_migrated() -> None:
    """Refuse, with one clear line, to work on a database whose tables are missing or behind the code."""
    from piccolo.apps.migrations.tables import Migration

    wanted = {path.stem for path in MIGRATIONS.glob("models_*.py")}
    ran = set(await Migration.get_migrations_which_ran(app_name="models")) if await Migration.table_exists() else set()
    if len(ran) < len(wanted):
        raise click.ClickException(
            f"{_database_name()} is not up to date ({len(wanted) - len(ran)} migrations to apply): "
            "run `placenet migrate` first."
        )


async def _with_database(work: Callable[[], Awaitable[T]]) -> T:
    """Run database work from the command line, with the database opened and closed around it."""
    from api.services.platform import connections as database

    await database.open()
    try:
        await require_migrated()
        return await work()
    finally:
        await database.close()


def _run_key_command(work: Callable[[], Awaitable[T]]) -> T:
    from api.services.platform.errors import ServiceError

    try:
        return asyncio.run(_with_database(work))
    except ServiceError as error:
        raise click.ClickException(error.detail) from None


@keys.command("create")
@click.option(
    "--org", "organisation", help="The organisation the key writes for (slug, org-id or UUID); optional for admins."
)
@click.option("--role", type=click.Choice(["partner", "admin"]), default="partner", show_default=True)
@click.option("--name", default="", help="A note of what the key is for, such as the partner system using it.")
def keys_create(organisation: str | None, role: str, name: str) -> None:
    """Make a key and print its secret, once: only a hash of it is kept."""
    from api.services.resources import keys as key_service

    info, secret = _run_key_command(lambda: key_service.create_key(organisation=organisation, role=role, name=name))  # type: ignore[arg-type]
    who = info.organisation or "the operator"
    click.echo(f"key {info.prefix} ({info.role}) for {who}; the secret, shown only now:", err=True)
    click.echo(secret)


@keys.command("list")
def keys_list() -> None:
    """Every key: prefix, organisation, role, name, when made and when revoked. Never the secrets."""
    from api.services.resources import keys as key_service

    for info in _run_key_command(key_service.list_keys):
        revoked = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.prefix}  {info.organisation or '-'}  {info.role}  {revoked}  {info.name}")


@keys.command("revoke")
@click.argument("prefix")
def keys_revoke(prefix: str) -> None:
    """Revoke the key with this prefix; it stops working at once."""
    from api.services.resources import keys as key_service

    info = _run_key_command(lambda: key_service.revoke_key(prefix=prefix))
    click.echo(f"key {info.prefix} for {info.organisation or 'the operator'} revoked")


@main.group()
def organisations() -> None:
    """Organisations that may be one body: their duplicates, and merging them."""


@organisations.command("duplicates")
@click.argument("ref")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="How many candidates.")
def organisations_duplicates(ref: str, limit: int) -> None:
    """List the organisations that may be the same body as REF (UUID, slug or org-id), with reasons."""
    from api.services.resources import duplicates

    found = _run_key_command(lambda: duplicates.duplicates(ref=ref, limit=limit))
    for candidate in found.items:
        reasons = "; ".join(f"{e.reason}: {e.detail}" for e in candidate.reasons)
        org = candidate.organisation
        click.echo(f"{candidate.score:.2f}  {org.slug}  {org.org_id or '-'}  {org.name}  ({reasons})")


@organisations.command("merge")
@click.argument("survivor")
@click.argument("merged", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Report what would move; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def organisations_merge(survivor: str, merged: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Merge the MERGED organisations into SURVIVOR: every reference to them moves to it, their refs keep
    naming it, and the change feed records the merge."""
    import msgspec

    from api.services.platform.actors import Actor
    from api.services.resources import merge

    report = _run_key_command(lambda: merge.merge(ref=survivor, merge=list(merged), actor=Actor(), dry_run=dry_run))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(report)).decode())
        return
    for line in merge.merge_lines(report):
        click.echo(line)


if __name__ == "__main__":
    sys.exit(main())
