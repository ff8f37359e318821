"""The explore page: the shared map and the collaboration network in the browser, at `/` and `/explore`.

The page is static HTML, CSS and plain JavaScript that read the API's JSON endpoints; it and every file
it loads (Leaflet, topojson-client, Cytoscape.js, the ONS boundaries) are served from `api/static/explore`,
so it works with no network at all. None of this is part of the API, so none of it is in the spec."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.static_files import create_static_files_router

EXPLORE = Path(__file__).resolve().parent.parent / "static" / "explore"
STATIC_PATH = "/explore/static"
HTML = "text/html"


def page() -> Response[bytes]:
    # Read on each request: the file is small, and an edited page shows without a restart.
    return Response((EXPLORE / "index.html").read_bytes(), media_type=HTML, headers={"Cache-Control": "no-cache"})


@get("/", include_in_schema=False, name="explore-home")
async def home() -> Response[bytes]:
    """The explore page, as the site's front page."""
    return page()


@get("/explore", include_in_schema=False, name="explore")
async def explore() -> Response[bytes]:
    """The explore page."""
    return page()


EXPLORE_ROUTES = [
    home,
    explore,
    create_static_files_router(path=STATIC_PATH, directories=[EXPLORE], include_in_schema=False, name="explore-static"),
]
