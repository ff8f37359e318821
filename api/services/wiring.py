"""What runs after every write, wired in one place.

The unit of work (records tier) must not import the read models above it, so they are installed here,
by the processes that write: the app at start-up, the command line, the fixtures loader and the tests.
A new after-write step (events for partners) is added to this list."""

from __future__ import annotations

from api.services.records import unit_of_work
from api.services.views import links, tally


def install() -> None:
    unit_of_work.install(tally.settle, links.settle)
