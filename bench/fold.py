"""Summarise py-spy raw (collapsed) stacks of a service worker: where the busy samples go, by
package and by function (own time, and inclusive where the stack is complete).

Granian resumes coroutines from Rust, so many stacks are partial (they start at the coroutine being
resumed, not at the app): own time (the leaf frame) is exact, inclusive time is a lower bound.
Idle samples (no Python frame, or the worker's main thread parked in granian's serve loop) are left out.

    python bench/fold.py FILE.folded [N]"""

import collections
import re
import sys

PACKAGES = ("piccolo", "litestar", "asyncpg", "aiosqlite", "msgspec", "granian", "api", "models", "asyncio")
own, incl, package, busy, total = (collections.Counter(), collections.Counter(), collections.Counter(), 0, 0)
with open(sys.argv[1]) as folded:
    for line in folded:
        stack, _, count = line.rstrip().rpartition(" ")
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if f.strip()]
        frames = [
            f.replace("/work/main/.venv/lib/python3.11/site-packages/", "").replace("/work/main/", "") for f in frames
        ]
        if not frames or "granian/server/" in frames[-1] or frames[-1].startswith("__package__"):
            continue
        busy += n
        leaf = frames[-1]
        own[leaf] += n
        where = re.search(r"\(([^)]*)\)$", leaf)
        path = where.group(1) if where else ""
        top = path.split("/")[0]
        package[top if top in PACKAGES else ("stdlib" if path.startswith("<") or "/" not in path else top)] += n
        for f in set(frames):
            incl[f] += n
print(f"{total} samples, {busy} busy ({100 * busy / max(total, 1):.0f}%); shares below are of busy samples")
print("\n## own time by package")
for name, n in package.most_common():
    print(f"{100 * n / busy:5.1f}%  {name}")
print("\n## own time by function")
for f, n in own.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
    print(f"{100 * n / busy:5.1f}%  {f}")
print("\n## inclusive (lower bound)")
for f, n in incl.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
    if "click/" in f or "multiprocessing/" in f or "granian/server" in f or "<module>" in f or "cli.py" in f:
        continue
    print(f"{100 * n / busy:5.1f}%  {f}")
