"""The admin command line, run as an admin would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLACENET = str(Path(sys.executable).parent / "placenet")


def test_serve_refuses_to_start_when_the_database_is_unreachable() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing"}
    result = subprocess.run(
        [PLACENET, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "The database cannot be reached" in result.stderr


def test_help_lists_the_commands() -> None:
    result = subprocess.run([PLACENET, "--help"], capture_output=True, text=True, timeout=60, check=True)
    for command in ("serve", "migrate", "fixtures", "openapi"):
        assert command in result.stdout


def test_a_command_on_a_database_not_yet_migrated_says_to_migrate(tmp_path: Path) -> None:
    placenet = str(Path(sys.executable).with_name("placenet"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/new.sqlite3"}
    sample = Path("tests/data/360giving/360G-blagravetrust-2016.json")
    for command in (["import", "360giving", "--dry-run", str(sample)], ["recount"], ["places", "rematch"]):
        done = subprocess.run([placenet, *command], env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 1, (command, done.stderr)
        assert "run `placenet migrate` first" in done.stderr, (command, done.stderr)
        assert "Traceback" not in done.stderr
