"""The Litestar application: create_app() builds everything; nothing happens at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Contact, License, Tag
from litestar.static_files import create_static_files_router

from api.http.allow import allow_header_middleware, index_allowed_methods
from api.http.auth import current_actor
from api.http.errors import EXCEPTION_HANDLERS
from api.http.etags import etag_middleware
from api.http.idempotency import idempotency_middleware
from api.http.observability import configure_logging, forget_dead_workers, request_log_middleware
from api.http.openapi import document_conventions, use_msgspec_schemas
from api.http.query import exact_query_middleware
from api.http.ratelimit import RateLimit, rate_limit_middleware
from api.http.routing import read_routing_middleware
from api.http.timeouts import body_timeout_middleware
from api.http.validation import strict_body
from api.routes.changes import HISTORY_ROUTES, ChangeController
from api.routes.co_funding import CoFundingController
from api.routes.engagements import EngagementController
from api.routes.explore import EXPLORE_ROUTES
from api.routes.grants import GrantController
from api.routes.health import HealthController
from api.routes.imports import ImportController
from api.routes.interest_groups import InterestGroupController
from api.routes.map import MapController
from api.routes.network import NetworkController
from api.routes.organisations import OrganisationController
from api.routes.places import PlaceController
from api.routes.research import ResearchController
from api.services import wiring
from api.services.platform import connections as database
from api.services.platform.store import close_store, open_store
from api.services.views import measures
from api.settings import Settings

DESCRIPTION = """An open JSON API for how funders work together in places: organisations, the places they work
in, interest groups, co-funding, commissioned research, grants and engagements, kept together by partner
organisations as a shared map and network.

- **Reading** needs no key. Lists are pages of `items` with a `next_cursor` (and a `Link: rel="next"` header);
  every record carries `version`, also sent as its `ETag`.
- **Writing** needs `Authorization: Bearer <key>`. Send `If-Match` with the version you read to never
  overwrite someone else's change (412 otherwise), and `Idempotency-Key` on a POST to make retries safe.
- **Errors** are `application/problem+json` (RFC 9457) with `errors` naming each field at fault.
- **Every answer** carries `X-Request-Id` (yours, if you send a sane one): quote it when asking about a request.
- **Rate limits**, when the service sets one, are per key (or per address without one): each `/v1` answer
  carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, and 429 says when to retry.
- **Staying in sync:** `GET /v1/changes?after=<id>` lists every write in commit order."""

TAGS = [
    Tag(
        name="Organisations",
        description="Every body in the network: funders, councils, NHS and government "
        "bodies, universities, charities, community groups, networks and lived-experience forums. Found by UUID, "
        "slug or org-id.",
    ),
    Tag(
        name="Places",
        description="The UK's places: nations, regions, combined authorities, counties, local "
        "authorities and neighbourhoods, each under its parent. Found by UUID, slug or GSS code, current or former.",
    ),
    Tag(
        name="Interest groups",
        description="Time-limited groups of organisations with a shared interest, "
        "convened by one of them, with their memberships.",
    ),
    Tag(
        name="Co-funding",
        description="Funders pooling or aligning money for one purpose (360Giving's FRG040, "
        "funder collaboration), with each funder's contribution.",
    ),
    Tag(
        name="Research",
        description="Research commissioned by organisations: literature reviews, studies, "
        "evaluations and co-design work, with who commissioned it, who did it and what paid for it.",
    ),
    Tag(
        name="Grants",
        description="Grants from funders to recipients, compatible with the 360Giving Data "
        "Standard; found by UUID, slug or 360Giving identifier.",
    ),
    Tag(
        name="Engagements",
        description="Meetings, discussion series and consultations, with who convened them "
        "and which organisations took part. People are never named.",
    ),
    Tag(
        name="Map",
        description="The shared map: places at a chosen level as GeoJSON, with the records in each and in the "
        "places below it counted, and the money awarded or pooled there.",
    ),
    Tag(
        name="Network",
        description="The collaboration network: organisations linked by the records they share, each link with its "
        "evidence; an organisation's collaborators; the shortest chain between two organisations.",
    ),
    Tag(
        name="Imports",
        description="Funders' published 360Giving files (JSON, CSV or XLSX), validated whole and then "
        "written all or nothing: grants upserted by 360Giving identifier, organisations matched by org-id, "
        "beneficiary locations mapped to places by GSS code.",
    ),
]
TAGS.append(
    Tag(
        name="Operations",
        description="Liveness and readiness for load balancers and orchestrators, and Prometheus metrics.",
    )
)
TAGS.append(
    Tag(
        name="Changes",
        description="Every write, in commit order: the change feed for keeping a copy in sync, and each record's "
        "history (what changed, from what to what, by which organisation, when).",
    )
)
ROUTES: list[Any] = [
    HealthController,
    ChangeController,
    *HISTORY_ROUTES,
    OrganisationController,
    PlaceController,
    InterestGroupController,
    CoFundingController,
    ResearchController,
    GrantController,
    EngagementController,
    MapController,
    NetworkController,
    ImportController,
    *EXPLORE_ROUTES,
]


SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"


def docs_ui() -> SwaggerRenderPlugin:
    """Swagger UI from files the app serves itself, so the docs work with no network at all."""
    return SwaggerRenderPlugin(
        path="/",
        js_url="/docs/static/swagger-ui-bundle.js",
        css_url="/docs/static/swagger-ui.css",
        standalone_preset_js_url="/docs/static/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' type='image/png' href='/docs/static/favicon-32x32.png'>",
    )


def lifespan(settings: Settings) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def open_and_close(_: Litestar) -> AsyncIterator[None]:
        """Open the database and the shared store before the first request; refuse to start when the
        database cannot be reached."""
        await database.open()
        open_store(settings.redis_url, settings.redis_prefix)
        forget_dead_workers()
        # Everything made at startup (routes, the OpenAPI schema, Piccolo's tables) lives as long as the
        # process: frozen, the collector stops rescanning it, and its full collections, which stall every
        # request queued on the worker, become short (in-process: a 69-78 ms worst case became 17-19 ms).
        gc.collect()
        gc.freeze()
        measuring = (
            asyncio.create_task(measures.keep_measured(settings.measure_interval))
            if settings.measure_interval > 0
            else None
        )
        try:
            yield
        finally:
            if measuring is not None:
                measuring.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await measuring
            await close_store()
            await database.close()

    return open_and_close


def operation_id(route_handler: Any, *_: Any) -> str:
    """The handler's name is the operationId: `list_grants`, `get_grant`, `create_grant`."""
    return str(route_handler.handler_name)


def middleware(settings: Settings) -> list[Any]:
    """Outermost first: the rate limit, then the choice of database node, then the record conventions
    (Allow, Idempotency-Key, ETag). Request ids, the access log and metrics wrap all of Litestar
    (`create_app`)."""
    chain: list[Any] = []
    limit = RateLimit.parse(settings.rate_limit)
    if limit:
        chain.append(DefineMiddleware(rate_limit_middleware, limit=limit))
    if settings.replica_urls:
        chain.append(
            DefineMiddleware(read_routing_middleware, read_your_writes_seconds=settings.read_your_writes_seconds)
        )
    return [*chain, allow_header_middleware, exact_query_middleware, idempotency_middleware, etag_middleware]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    wiring.install()
    app = Litestar(
        route_handlers=[
            *ROUTES,
            create_static_files_router(path="/docs/static", directories=[SWAGGER_UI], include_in_schema=False),
        ],
        dependencies={"actor": Provide(current_actor)},
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=strict_body,
        middleware=middleware(settings),
        lifespan=[lifespan(settings)],
        openapi_config=OpenAPIConfig(
            title="Placenet",
            version="0.1.0",
            description=DESCRIPTION,
            contact=Contact(name="Placenet"),
            license=License(name="MIT", identifier="MIT"),
            tags=TAGS,
            path="/docs",
            render_plugins=[docs_ui(), YamlRenderPlugin()],
            use_handler_docstrings=True,
            operation_id_creator=operation_id,
        ),
        debug=False,
    )
    # Around Litestar's own handler, like its CORS middleware: even a path no route matches gets a
    # request id, an access-log line and a count.
    app.asgi_handler = request_log_middleware(body_timeout_middleware(app.asgi_handler, settings.body_read_timeout))
    use_msgspec_schemas(app)
    document_conventions(app)
    index_allowed_methods(app)
    return app
