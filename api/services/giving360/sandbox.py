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
import logging
import multiprocessing
import os
import resource
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar, cast

from api.services.giving360.issues import ImportRefused
from api.services.giving360.limits import LIMITS, LimitExceeded, Limits, unreadable
from api.services.platform.errors import ServiceError

T = TypeVar("T")
# What the forkserver imports once, so each file's process starts with the readers loaded.
PRELOAD = ["api.services.giving360.importer", "flattentool", "openpyxl", "lxml.etree", "jsonschema"]
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)
# Files read at once by one server process: so many sandboxes' memory caps is the most they can take.
AT_ONCE = 2
_slots = threading.BoundedSemaphore(AT_ONCE)
log = logging.getLogger("placenet.imports")


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
            except Exception:  # a word that cannot be understood (an exception that will not unpickle)
                log.exception("the sandbox's outcome could not be read")
                outcome = ("error", failed("its reading process sent back what could not be understood"))
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
    if kind == "error" and isinstance(value, ServiceError):
        raise value
    if kind in ("error", "crash"):
        # Anything else the reading raised (a reader's own bug on a strange file) is the file unreadable,
        # never a server error; logged, with the reading process's traceback.
        what, trace = cast(tuple[str, str], value) if kind == "crash" else (repr(value), "")
        log.error("reading a file in the sandbox failed: %s\n%s", what, trace)
        raise failed(f"reading it failed ({what.split(':', 1)[0]})")
    return cast(T, value)


def failed(why: str) -> ImportRefused:
    """The file could not be read, for a reason that is no limit: the 422 a damaged file gets."""
    return unreadable(why)


# How the reading process ends when it runs out of memory: the kernel's or a C library's abort (SIGKILL,
# SIGSEGV, SIGABRT, SIGBUS), or MEMORY_EXIT, the child's own exit when even reporting MemoryError fails.
MEMORY_EXIT = 75
MEMORY_DEATHS = frozenset({-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS, MEMORY_EXIT})


def _ended(exitcode: int | None, limits: Limits) -> ServiceError:
    if exitcode == -signal.SIGXCPU or exitcode == -signal.SIGKILL:
        # SIGXCPU at the soft CPU limit; SIGKILL at the hard one, a few seconds later (or the kernel's
        # out-of-memory killer: the CPU limit is the likelier, and either is the file's).
        return LimitExceeded(
            "cpu_seconds",
            f"more than {limits.cpu_seconds}",
            limits.cpu_seconds,
            "reading the file used too much CPU time",
        )
    if exitcode in MEMORY_DEATHS:
        # A C library (libxml2, the zip reader) that cannot allocate under RLIMIT_AS ends the process itself.
        return LimitExceeded(
            "memory_bytes",
            f"the reading process ended (exit {exitcode})",
            limits.memory_bytes,
            "reading the file needed more memory than it may have",
        )
    log.error("the sandbox's reading process ended without an outcome (exit %s)", exitcode)
    return failed(f"its reading process ended without an outcome (exit {exitcode})")


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
    except ServiceError as error:  # sent back to be raised in the server, as if raised there
        outcome = ("error", error)
    except Exception as error:  # a reader's own failure: its words and traceback, for the server to log
        outcome = ("crash", (f"{type(error).__name__}: {error}"[:2000], traceback.format_exc()[-20_000:]))
    try:
        sender.send(outcome)
    except MemoryError:
        try:
            sender.send(
                ("error", LimitExceeded("memory_bytes", "more", limits.memory_bytes, "the file read is too large"))
            )
        except MemoryError:
            os._exit(MEMORY_EXIT)
    except Exception as error:  # an exception that cannot be pickled: its words, at least
        sender.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        sender.close()
