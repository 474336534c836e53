"""Swagger UI and ReDoc that work with no internet: their files come from the
fastapi-offline package and are served by the app, not linked from CDNs."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# Swagger UI's and ReDoc's files (and FastAPI's favicon) as the fastapi-offline package
# ships them, served here instead of linked from CDNs: the docs work with no internet.
DOCS_ASSETS = "/docs/assets"
DOCS_ASSET_PACKAGE = ("fastapi_offline", "static")


def offline_docs(app: FastAPI, *, docs_url: str, redoc_url: str) -> None:
    """FastAPI's own Swagger UI and ReDoc pages, registered as FastAPI registers them (plain
    routes outside the schema; root_path, the OAuth2 redirect, `swagger_ui_init_oauth` and
    `swagger_ui_parameters` honoured) but pointing at local copies of their files, and ReDoc
    without Google Fonts: nothing on either page names another host."""
    openapi_url, redirect_url = app.openapi_url, app.swagger_ui_oauth2_redirect_url
    if not (openapi_url and redirect_url):
        raise RuntimeError("the docs pages need openapi_url and swagger_ui_oauth2_redirect_url")
    # Checks at startup that the package ships the folder: a missing one fails here.
    app.mount(DOCS_ASSETS, StaticFiles(packages=[DOCS_ASSET_PACKAGE]), name="docs-assets")

    def prefix(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = prefix(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=root + redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def swagger_ui_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = prefix(request)
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's bundle draws a "by Redocly" logo from its CDN: images from here only.
        page.headers["Content-Security-Policy"] = "img-src 'self' data:"
        return page

    app.add_route(docs_url, swagger_ui, include_in_schema=False)
    app.add_route(redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(redoc_url, redoc, include_in_schema=False)
