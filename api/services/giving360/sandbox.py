"""Reading an uploaded file in a process of its own, with its memory and CPU time capped, so that no file
(one that slips past the limits, or a parser's own blow-up) can take the server's memory or hold its
event loop: the worst it can do is end its own process, which becomes a problem naming the limit.

Each file gets a fresh process, forked from a `forkserver` that has already imported the readers
(flattentool, openpyxl, the schema): starting one costs milliseconds, not the 0.7 s of a new interpreter,
and nothing of the server (its threads, its database connections) is ever forked. The process sets its
own limits first (`RLIMIT_AS`, `RLIMIT_CPU`), runs one function, sends its result back through a pipe and
exits; the server waits for it in a thread, so the event loop keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar, cast

from api.services.giving360.limits import LIMITS, LimitExceeded, Limits

T = TypeVar("T")
# What the forkserver imports once, so each file's process starts with the readers loaded.
PRELOAD = ["api.services.giving360.importer", "flattentool", "openpyxl", "lxml.etree", "jsonschema"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)
# Files read at once by one server process: so many sandboxes' memory caps is the most they can take.
AT_ONCE = 2
_slots = threading.BoundedSemaphore(AT_ONCE)


async def run(function: Callable[..., T], *args: Any, limits: Limits = LIMITS) -> T:
    """`function(*args)` in a process of its own within `limits`: its result, or what it raised (a
    picklable exception). A process ended by its limits is a LimitExceeded naming the one it broke."""
    return await asyncio.to_thread(_run, function, args, limits)


def _run(function: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
    # Each process may use `memory_bytes`: a worker reads AT_ONCE files at a time, the rest wait here
    # (in their thread, not on the event loop) before their clock starts.
    with _slots:
        return _run_one(function, args, limits)


def _run_one(function: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
    receiver, sender = _context.Pipe(duplex=False)
    process = _context.Process(target=_child, args=(sender, function, args, limits), daemon=True)
    process.start()
    sender.close()
    outcome: tuple[str, Any] | None = None
    try:
        if receiver.poll(limits.wall_seconds):
            try:
                outcome = receiver.recv()
            except EOFError:  # the process ended without a word: its limits ended it
                outcome = None
        else:
            outcome = ("timeout", None)
    finally:
        if process.is_alive() and (outcome is None or outcome[0] == "timeout"):
            process.kill()
        process.join()
        receiver.close()
    if outcome is None:
        raise _ended(process.exitcode, limits)
    kind, value = outcome
    if kind == "timeout":
        raise LimitExceeded(
            "wall_seconds", f"more than {limits.wall_seconds}", limits.wall_seconds, "reading the file took too long"
        )
    if kind == "error":
        raise value if isinstance(value, BaseException) else RuntimeError(str(value))
    return cast(T, value)


def _ended(exitcode: int | None, limits: Limits) -> LimitExceeded:
    if exitcode == -signal.SIGXCPU or exitcode == -signal.SIGKILL:
        # SIGXCPU at the soft CPU limit; SIGKILL at the hard one, a few seconds later.
        return LimitExceeded(
            "cpu_seconds",
            f"more than {limits.cpu_seconds}",
            limits.cpu_seconds,
            "reading the file used too much CPU time",
        )
    # A C library (libxml2, the zip reader) that cannot allocate under RLIMIT_AS ends the process itself.
    return LimitExceeded(
        "memory_bytes",
        f"the reading process ended (exit {exitcode})",
        limits.memory_bytes,
        "reading the file needed more memory than it may have",
    )


def _child(sender: Connection, function: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", function(*args))
    except MemoryError:
        outcome = (
            "error",
            LimitExceeded(
                "memory_bytes", "more", limits.memory_bytes, "reading the file needed more memory than it may have"
            ),
        )
    except Exception as error:  # sent back to be raised in the server, as if raised there
        outcome = ("error", error)
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("error", LimitExceeded("memory_bytes", "more", limits.memory_bytes, "the file read is too large")))
    except Exception as error:  # an exception that cannot be pickled: its words, at least
        sender.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        sender.close()
