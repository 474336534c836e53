"""/docs (Swagger UI) and /redoc work with no internet access: every script, stylesheet,
icon and URL their pages name is served by the app itself (no CDN, no Google Fonts)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

BASE = "http://testserver"
# A URL-looking string literal in an inline script: a path, or anything with a scheme or //.
_JS_URL = re.compile(r"""(['"])((?:/|[a-z][a-z0-9+.-]*:|//)[^'"\s]*)\1""", re.IGNORECASE)
_ANY_HOST = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?//[a-z0-9\[]", re.IGNORECASE)


class _Links(HTMLParser):
    """Every URL a page names: tag attributes that load or link something, and the string
    literals of its inline scripts that look like URLs."""

    ATTRIBUTES = frozenset({"src", "href", "spec-url", "action", "data", "poster", "srcset"})

    def __init__(self) -> None:
        super().__init__()
        self.attributes: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes += [v for k, v in attrs if k in self.ATTRIBUTES and v]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts += [m.group(2) for m in _JS_URL.finditer(data)]


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.attributes + parser.scripts


def external(urls: list[str]) -> list[str]:
    """Those that resolve to another origin than the page's."""
    origin = urlsplit(BASE)
    return [
        u
        for u in urls
        if (r := urlsplit(urljoin(BASE + "/docs", u))).scheme != origin.scheme
        or r.netloc != origin.netloc
    ]


async def page(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


# What each referenced path must answer: content type and a floor on its size in bytes.
EXPECTED = {
    ".js": ("javascript", 100_000),
    ".css": ("text/css", 10_000),
    ".png": ("image/png", 500),
    ".json": ("application/json", 10_000),
}


def test_the_link_check_sees_cdn_and_font_links() -> None:
    """Control: FastAPI's default pages name jsDelivr, fastapi.tiangolo.com and Google Fonts,
    and the checks below would catch each."""
    swagger = get_swagger_ui_html(openapi_url="/openapi.json", title="t").body.decode()
    redoc = get_redoc_html(openapi_url="/openapi.json", title="t").body.decode()
    hosts = {urlsplit(u).netloc for u in external(links(swagger) + links(redoc))}
    assert {"cdn.jsdelivr.net", "fastapi.tiangolo.com", "fonts.googleapis.com"} <= hosts
    assert len(external(["https://x.example/a.js", "//x.example/a.css"])) == 2
    assert _JS_URL.search("f({url: 'https://x.example/openapi.json'})")
    assert external(["/docs/assets/a.js", "a.css", "/openapi.json"]) == []


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_docs_pages_name_no_other_host(client: httpx.AsyncClient, path: str) -> None:
    html = await page(client, path)
    assert external(links(html)) == []
    # Belt and braces: no scheme-qualified or protocol-relative URL anywhere in the page.
    assert _ANY_HOST.search(html) is None, _ANY_HOST.search(html)
    assert "fonts.googleapis" not in html
    assert "fonts.gstatic" not in html


@pytest.mark.parametrize(
    ("path", "required"),
    [
        (
            "/docs",
            {
                "/openapi.json",
                "/docs/oauth2-redirect",
                "/docs/assets/swagger-ui-bundle.js",
                "/docs/assets/swagger-ui.css",
                "/docs/assets/favicon.png",
            },
        ),
        (
            "/redoc",
            {"/openapi.json", "/docs/assets/redoc.standalone.js", "/docs/assets/favicon.png"},
        ),
    ],
)
async def test_every_asset_a_docs_page_names_is_served(
    client: httpx.AsyncClient, path: str, required: set[str]
) -> None:
    named = set(links(await page(client, path)))
    assert required <= named, named
    for url in sorted(named):
        response = await client.get(url)
        assert response.status_code == 200, url
        content_type = response.headers["content-type"]
        suffix = PurePosixPath(urlsplit(url).path).suffix
        if suffix in EXPECTED:
            kind, floor = EXPECTED[suffix]
            assert kind in content_type, (url, content_type)
            assert len(response.content) >= floor, (url, len(response.content))
        else:  # the OAuth2 redirect page
            assert content_type.startswith("text/html"), (url, content_type)
            assert len(response.content) >= 1_000, (url, len(response.content))


async def test_assets_are_the_real_bundles(client: httpx.AsyncClient) -> None:
    swagger = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    redoc = (await client.get("/docs/assets/redoc.standalone.js")).text
    css = (await client.get("/docs/assets/swagger-ui.css")).text
    assert "SwaggerUIBundle" in swagger
    assert "Redoc" in redoc
    assert ".swagger-ui" in css
    assert (await client.get("/docs/assets/favicon.png")).content.startswith(b"\x89PNG")


async def test_swagger_keeps_the_oauth2_password_flow(client: httpx.AsyncClient) -> None:
    html = await page(client, "/docs")
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    assert "url: '/openapi.json'" in html
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    assert [s["flows"]["password"]["tokenUrl"] for s in schemes.values()] == ["/api/auth/login"]
    assert "window.opener.swaggerUIRedirectOauth2" in await page(client, "/docs/oauth2-redirect")


async def test_unknown_asset_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/assets/missing.js")).status_code == 404
    assert (await client.get("/docs/assets/../core.py")).status_code == 404


async def test_behind_a_root_path_every_link_keeps_the_prefix(app: FastAPI) -> None:
    """Behind a proxy that mounts the app at /clinic, the pages name /clinic/... paths."""
    transport = httpx.ASGITransport(app=app, root_path="/clinic")
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        for path in ("/clinic/docs", "/clinic/redoc"):
            named = links(await page(client, path))
            assert named, path
            assert all(u.startswith("/clinic/") for u in named), named
            for url in named:
                assert (await client.get(url)).status_code == 200, url
