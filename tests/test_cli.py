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
