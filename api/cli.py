"""`placenet`: the admin command line (serve, migrate; later issues add more)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from api.settings import Settings


@click.group()
def main() -> None:
    """Placenet: an open JSON API for how funders work together in places."""


async def run_migrations() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="models", migration_id="all")
    if not result.success:
        raise click.ClickException(f"migrations failed: {result.message}")


async def check_database() -> None:
    """Refuse to start, with one clear line, when the database cannot be reached."""
    from api.services import database

    try:
        await database.open()
    except database.DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    await database.close()


@main.command()
def migrate() -> None:
    """Bring the database's tables up to date (SQLite file by default, or DATABASE_URL)."""
    asyncio.run(run_migrations())


@main.command()
@click.option("--host", default=None, help="Address to listen on [default: HOST or 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: PORT or 8000].")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
def serve(host: str | None, port: int | None, workers: int, reload: bool) -> None:
    """Serve the API with granian; docs at /docs."""
    from granian.constants import Interfaces
    from granian.server import Server

    settings = Settings.from_env()
    asyncio.run(check_database())
    click.echo(f"Placenet on http://{host or settings.host}:{port or settings.port} (docs at /docs)", err=True)
    Server(
        "api.app:create_app",
        address=host or settings.host,
        port=port or settings.port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        reload=reload,
    ).serve()


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def openapi(path: Path | None) -> None:
    """Write the OpenAPI spec generated from the code to PATH (or stdout)."""
    from api.app import create_app
    from api.openapi import spec_json

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
        from api.services import database

        await database.open()
        try:
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
    """Write every stored record as a fixture file that `fixtures load` takes back unchanged."""
    import json

    import yaml

    from fixtures.loader import dump

    async def run() -> dict[str, Any]:
        from api.services import database

        await database.open()
        try:
            return await dump()
        finally:
            await database.close()

    data = asyncio.run(run())
    if output is None:
        click.echo(json.dumps(data, indent=1, ensure_ascii=False))
    elif output.suffix in (".yaml", ".yml"):
        output.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    else:
        output.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@contextmanager
def progress_bar() -> Iterator[Callable[[int], Callable[[], None]]]:
    """Progress of the writes on stderr: a rich bar in a terminal; in a log, a line every 500 records."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:

        def lines(total: int) -> Callable[[], None]:
            done = 0

            def tick() -> None:
                nonlocal done
                done += 1
                if done % 500 == 0 or done == total:
                    click.echo(f"writing {done}/{total}", err=True)

            return tick

        yield lines
        return
    with Progress(
        TextColumn("writing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:

        def start(total: int) -> Callable[[], None]:
            task = bar.add_task("records", total=total)
            return lambda: bar.advance(task)

        yield start


if __name__ == "__main__":
    sys.exit(main())
