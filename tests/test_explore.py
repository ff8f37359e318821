"""The explore page as files: served at `/` and `/explore`, every asset it names served by the app, nothing
loaded from anywhere else, and none of it in the spec. (tests/test_explore_browser.py drives it in Chromium.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from api.http.openapi import spec_json

ROOT = Path(__file__).resolve().parents[1]
EXPLORE = ROOT / "api/static/explore"
STATIC = "/explore/static"
OWN_FILES = ["index.html", "app.js", "app.css"]
VENDORED = {
    "leaflet": ["leaflet.js", "leaflet.css", "LICENSE"],
    "topojson-client": ["topojson-client.min.js", "LICENSE"],
    "cytoscape": ["cytoscape.min.js", "LICENSE"],
}
# An absolute or protocol-relative URL. The SVG namespace is a name, never fetched.
ABSOLUTE_URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# Where a file names something the browser would load: src/href attributes, CSS url() and @import.
LOADED_REFERENCE = re.compile(r"""(?:\bsrc\s*=\s*|<link[^>]*\bhref\s*=\s*|url\(\s*|@import\s+)["']?([^"')\s>]+)""")


async def test_the_front_page_is_the_explore_page(anonymous: httpx.AsyncClient) -> None:
    home = await anonymous.get("/")
    explore = await anonymous.get("/explore")

    assert home.status_code == 200
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Placenet" in home.text
    assert explore.status_code == 200
    assert explore.text == home.text


def page_assets(html: str) -> list[str]:
    return [ref for ref in LOADED_REFERENCE.findall(html) if not ref.startswith("#")]


async def test_every_file_the_page_loads_is_served_by_the_app(anonymous: httpx.AsyncClient) -> None:
    html = (await anonymous.get("/")).text
    assets = page_assets(html)

    assert {f"{STATIC}/app.js", f"{STATIC}/app.css", f"{STATIC}/vendor/leaflet/leaflet.js"} <= set(assets)
    for asset in assets:
        assert asset.startswith(f"{STATIC}/"), asset
        response = await anonymous.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset


async def test_the_stylesheets_images_are_served_too(anonymous: httpx.AsyncClient) -> None:
    css = (await anonymous.get(f"{STATIC}/vendor/leaflet/leaflet.css")).text
    images = [ref for ref in LOADED_REFERENCE.findall(css) if not ref.startswith("#")]

    assert images
    for image in images:
        response = await anonymous.get(f"{STATIC}/vendor/leaflet/{image}")
        assert response.status_code == 200, image
        assert response.headers["content-type"] == "image/png"


async def test_the_boundaries_and_the_licences_are_served(anonymous: httpx.AsyncClient) -> None:
    topo = await anonymous.get(f"{STATIC}/data/uk-topo.json")
    readme = await anonymous.get(f"{STATIC}/data/README.md")

    assert topo.status_code == 200
    assert set(topo.json()["objects"]) >= {"ctry", "rgn", "cauth", "cty", "ltla"}
    assert "Open Government Licence v.3.0" in readme.text
    for package, files in VENDORED.items():
        for name in files:
            assert (await anonymous.get(f"{STATIC}/vendor/{package}/{name}")).status_code == 200, (package, name)
    assert (await anonymous.get(f"{STATIC}/vendor/README.md")).status_code == 200


async def test_the_page_shows_the_ogl_attribution(anonymous: httpx.AsyncClient) -> None:
    html = (await anonymous.get("/")).text
    script = (await anonymous.get(f"{STATIC}/app.js")).text

    for text in (html, script):
        assert "Office for National Statistics licensed under" in text
        assert "Open Government Licence v.3.0" in text
        assert "Contains OS data © Crown copyright and database right 2016" in text


@pytest.mark.parametrize("name", OWN_FILES)
async def test_the_pages_own_files_name_no_outside_address(anonymous: httpx.AsyncClient, name: str) -> None:
    text = (await anonymous.get("/" if name == "index.html" else f"{STATIC}/{name}")).text

    assert ABSOLUTE_URL.findall(text.replace(SVG_NAMESPACE, "")) == []


async def test_no_served_html_css_or_script_loads_anything_from_outside(anonymous: httpx.AsyncClient) -> None:
    files = ["/", *(f"{STATIC}/{name}" for name in OWN_FILES[1:])]
    files += [f"{STATIC}/vendor/{package}/{name}" for package, names in VENDORED.items() for name in names[:-1]]
    for path in files:
        text = (await anonymous.get(path)).text
        for reference in LOADED_REFERENCE.findall(text):
            assert not ABSOLUTE_URL.match(reference), (path, reference)
        # A script that fetches or imports from an absolute address.
        assert not re.search(r"""(?:fetch|import|importScripts)\(\s*["'](?:https?:)?//""", text), path


async def test_a_missing_static_file_is_a_404(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get(f"{STATIC}/nothing-here.js")).status_code == 404


def test_the_page_and_its_files_are_not_in_the_spec(app: Litestar) -> None:
    paths = json.loads(spec_json(app))["paths"]

    assert not [path for path in paths if path == "/" or path.startswith("/explore")]


def test_the_boundaries_give_every_authority_in_the_fixtures_a_shape() -> None:
    """The joining notes (data/README.md), applied to the fixtures' places as app.js applies them: every
    nation, region, combined authority, county and local authority finds a boundary by its GSS code."""
    topo = json.loads((EXPLORE / "data/uk-topo.json").read_text(encoding="utf-8"))
    codes: set[str] = set()
    for layer in ("ctry", "rgn", "cauth", "cty", "ltla"):
        for geometry in topo["objects"][layer]["geometries"]:
            code = geometry["properties"]["areacd"]
            if layer == "cauth" and not code.startswith("E47"):
                continue
            codes.add(code)
    aliases = {"E61000001": "E12000007", "S12000049": "S12000046", "S12000050": "S12000044"}
    levels = {"nation", "region", "combined_authority", "county", "local_authority"}
    fixture = json.loads((ROOT / "fixtures/places/uk.json").read_text(encoding="utf-8"))
    places = [place for place in fixture["places"] if place["level"] in levels]

    missing = [p["gss_code"] for p in places if p["gss_code"] not in codes and aliases.get(p["gss_code"]) not in codes]

    assert len(places) >= 400
    assert missing == []
