"""The whole network's measures, kept in the background: each linked organisation's degree, strength and
betweenness centrality, measured from the kept links (links.py) for a change-feed position. Reads never
wait for networkx; they say which position the measures reflect.

`refresh` measures when the change feed has moved since the last measure. It reads the position, the
links and the position again, and keeps the result only when nothing was written in between (otherwise
the next turn tries again), so a position always names links that were exactly as measured. Each worker
runs `keep_measured`; a claim on the state row lets one measure while the others skip their turn. The
measuring itself runs in a process of its own (`_measure_apart`), so the worker keeps serving."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import logging
import multiprocessing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import networkx as nx

from api.services.platform import clock
from api.services.platform.connections import write_transaction
from api.services.platform.sql import Statement, insert_rows, listed
from api.services.views.activity import EVERYWHERE, as_uuid
from models.tables import NetworkMeasure

log = logging.getLogger("placenet.measures")

# Betweenness is exact up to this many organisations; above it, estimated from a sample of sources, each
# a breadth-first search over the whole graph (nodes + links). The sample shrinks on big, dense graphs so
# the estimate stays within a fixed amount of work: London at 10k grants (9,066 organisations, 196,154
# links) took 39 s with 200 sources, and takes about 2 s with the 10 the budget allows (bench/results).
EXACT_CENTRALITY = 500
CENTRALITY_SAMPLE = 200
CENTRALITY_SAMPLE_FLOOR = 10
CENTRALITY_BUDGET = 2_000_000  # nodes and links visited, over all the sampled searches
# Link weights are sums of fractions; they are given to this many decimal places.
WEIGHT_PLACES = 6


def rounded(weight: float) -> float:
    return round(weight, WEIGHT_PLACES)


def score(scores: Mapping[UUID, float], node: UUID) -> float:
    """A node's centrality as given: 0 to 1 (networkx's estimate can stray past either), to 6 places."""
    return round(min(1.0, max(0.0, scores.get(node, 0.0))), 6)


def micro(weight: float) -> int:
    """A weight in millionths, as it is given (to 6 places): what links are ordered and compared by."""
    return round(rounded(weight) * 1_000_000)


def centrality(graph: nx.Graph) -> dict[UUID, float]:
    """Normalised betweenness over the links, ignoring their weights (a weight is a strength, not a
    distance)."""
    if graph.number_of_nodes() <= EXACT_CENTRALITY:
        scores: dict[UUID, float] = nx.betweenness_centrality(graph, normalized=True)
    else:
        scores = nx.betweenness_centrality(graph, k=centrality_sample(graph), normalized=True, seed=0)
    return scores


def centrality_sample(graph: nx.Graph) -> int:
    """How many sources estimate betweenness on a graph too big for the exact measure."""
    per_search: int = graph.number_of_nodes() + graph.number_of_edges()
    return max(CENTRALITY_SAMPLE_FLOOR, min(CENTRALITY_SAMPLE, CENTRALITY_BUDGET // per_search))


STATE = "measures"
# How long one worker may take to measure before another may claim the turn (a worker that died
# measuring does not stop the measures for longer than this).
CLAIM = datetime.timedelta(minutes=5)

POSITION = Statement("SELECT COALESCE(MAX(id), 0) AS position FROM change")
STATE_ROW = Statement("SELECT position, measured_at FROM network_state WHERE name = {}")
ADD_STATE = Statement("INSERT INTO network_state (name, position) VALUES ({}, -1) ON CONFLICT (name) DO NOTHING")
TAKE_TURN = Statement(
    "UPDATE network_state SET claimed_until = {} WHERE name = {} AND (claimed_until IS NULL OR claimed_until < {}) "
    "RETURNING name"
)
MEASURED = Statement("UPDATE network_state SET position = {}, measured_at = {}, claimed_until = NULL WHERE name = {}")
GIVE_UP_TURN = Statement("UPDATE network_state SET claimed_until = NULL WHERE name = {}")
EVERY_LINK = Statement("SELECT source, target, weight FROM network_edge WHERE scope = {} ORDER BY source, target")
FORGET_MEASURES = Statement("DELETE FROM network_measure")
# The state and the measures of a list of organisations, in one statement: the state row, then one row per
# measured organisation.
MEASURES_OF = Statement(
    "SELECT s.position, s.measured_at, m.organisation, m.degree, m.strength, m.centrality FROM network_state s "
    "LEFT JOIN network_measure m ON m.organisation {in} WHERE s.name = {}"
)


@dataclass(frozen=True)
class Measure:
    degree: int
    strength: float
    centrality: float


@dataclass(frozen=True)
class Measures:
    """The measures of some organisations, and the change-feed position they reflect (None: never
    measured yet). An organisation with no link has none."""

    position: int | None
    measured_at: datetime.datetime | None
    of: Mapping[UUID, Measure] = field(default_factory=dict)


def measure(links: Sequence[tuple[UUID, UUID, float]]) -> dict[UUID, Measure]:
    """Degree (how many organisations it is linked to), strength (the summed weight of its links) and
    normalised betweenness of every linked organisation. Pure: run in a thread."""
    graph = nx.Graph()
    graph.add_weighted_edges_from(links)
    scores = centrality(graph)
    return {
        node: Measure(
            degree=graph.degree(node),
            strength=rounded(graph.degree(node, weight="weight")),
            centrality=score(scores, node),
        )
        for node in graph.nodes
    }


async def _position() -> int:
    (row,) = await POSITION.records()
    return int(row["position"])


async def refresh() -> int | None:
    """Measure the network if the change feed has moved since the last measure and no other worker is
    measuring; the position measured, or None when there was nothing to do (or it must wait its turn)."""
    async with write_transaction():
        await ADD_STATE.execute(STATE)
    (state,) = await STATE_ROW.records(STATE)
    position = await _position()
    if state["position"] == position:
        return None
    now = clock.now()
    async with write_transaction():
        if not await TAKE_TURN.records(now + CLAIM, STATE, now):
            return None
    try:
        measured_position, measured = await _measure_apart()
        if measured_position != position:
            return None  # written meanwhile: the next turn measures what is there then
        async with write_transaction():
            await FORGET_MEASURES.execute()
            await insert_rows(
                NetworkMeasure,
                [
                    {"organisation": node, "degree": m.degree, "strength": m.strength, "centrality": m.centrality}
                    for node, m in measured.items()
                ],
            )
            await MEASURED.execute(position, clock.now(), STATE)
        log.info("measured the network at change %s: %s organisations", position, len(measured))
        return position
    finally:
        async with write_transaction():
            await GIVE_UP_TURN.execute(STATE)


async def _measure_apart() -> tuple[int, dict[UUID, Measure]]:
    """The whole network measured in a process of its own, and the change-feed position read after its
    links: a million links in networkx take minutes and gigabytes, which the worker serving requests
    must not hold (nor its interpreter lock). The process reads the links itself, so only the measures
    (one per organisation) come back."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as apart:
        return await asyncio.get_running_loop().run_in_executor(apart, _read_and_measure)


def _read_and_measure() -> tuple[int, dict[UUID, Measure]]:
    """In the measuring process: open the database (the same settings, from the environment), read every
    link of the whole network and the position after them, and measure."""
    from api.services.platform import connections

    async def run() -> tuple[int, dict[UUID, Measure]]:
        await connections.open()
        try:
            rows = await EVERY_LINK.records(EVERYWHERE)
            position = await _position()
        finally:
            await connections.close()
        links = [(as_uuid(row["source"]), as_uuid(row["target"]), float(row["weight"])) for row in rows]
        del rows
        return position, measure(links)

    return asyncio.run(run())


async def read(organisations: Sequence[UUID]) -> Measures:
    """The kept measures of these organisations (one statement) and the position they reflect."""
    rows = await MEASURES_OF.records(listed(list(organisations)), STATE)
    if not rows or rows[0]["position"] < 0:
        return Measures(position=None, measured_at=None)
    found = {
        as_uuid(row["organisation"]): Measure(row["degree"], row["strength"], row["centrality"])
        for row in rows
        if row["organisation"] is not None
    }
    measured_at: Any = rows[0]["measured_at"]
    if isinstance(measured_at, str):
        measured_at = datetime.datetime.fromisoformat(measured_at)
    return Measures(position=int(rows[0]["position"]), measured_at=measured_at, of=found)


async def keep_measured(interval: float) -> None:
    """Measure whenever the network has changed, every `interval` seconds, until cancelled."""
    while True:
        try:
            await refresh()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed turn (the database restarting, a lock) is tried again next turn.
            log.exception("measuring the network failed; trying again in %s s", interval)
        await asyncio.sleep(interval)
