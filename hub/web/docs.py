"""/docs (Swagger UI) and /redoc (ReDoc) with every script, style and icon served by the hub
itself: nothing is loaded from a CDN, so the pages work offline and leak nothing to a third party.

The files come from the PyPI package ``fastapi-standalone-docs`` (Swagger UI 5 and ReDoc 2 as
their projects publish them); ``create_app`` makes the FastAPI app with ``docs_url=None,
redoc_url=None`` and calls ``install``. The pages run no inline script, so they are served with a
Content-Security-Policy that allows scripts from this origin only.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}

# Swagger UI's start-up, as a file (no inline script): the OpenAPI URL comes from the page's data-url.
INIT_JS = """\
window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.url, dom_id: "#swagger-ui", layout: "BaseLayout", deepLinking: true,
    showExtensions: true, showCommonExtensions: true, persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
"""


def assets_dir() -> Path:
    """The directory holding swagger/, redoc/ and fastapi/ (favicon) from fastapi-standalone-docs."""
    import fastapi_standalone_docs  # noqa: PLC0415

    return Path(fastapi_standalone_docs.__path__[0]) / "static"


def _page(request: Request, title: str, head: str, body: str) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    favicon = f"{root}{ASSETS_URL}/fastapi/favicon.png"
    text = (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{html.escape(title)}</title>\n<link rel="icon" href="{favicon}">\n{head}</head>\n'
        f"<body>\n{body}</body>\n</html>\n"
    )
    return HTMLResponse(text, headers=HEADERS)


def install(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets_dir())), name="docs-assets")
    title = app.title

    def openapi_url(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/") + (app.openapi_url or "/openapi.json")

    async def swagger_ui(request: Request):
        root = request.scope.get("root_path", "").rstrip("/")
        return _page(
            request,
            f"{title} - Swagger UI",
            f'<link rel="stylesheet" href="{root}{ASSETS_URL}/swagger/swagger-ui.css">\n',
            f'<div id="swagger-ui" data-url="{html.escape(openapi_url(request))}"></div>\n'
            f'<script src="{root}{ASSETS_URL}/swagger/swagger-ui-bundle.js"></script>\n'
            f'<script src="{root}{docs_url}/init.js"></script>\n',
        )

    async def swagger_init(request: Request):
        return Response(INIT_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    async def redoc(request: Request):
        root = request.scope.get("root_path", "").rstrip("/")
        return _page(
            request,
            f"{title} - ReDoc",
            "",
            f'<redoc spec-url="{html.escape(openapi_url(request))}"></redoc>\n'
            f'<script src="{root}{ASSETS_URL}/redoc/redoc.standalone.js"></script>\n',
        )

    # plain Starlette routes, as FastAPI's own /docs: not API operations, no token
    app.add_route(docs_url, swagger_ui, include_in_schema=False)
    app.add_route(f"{docs_url}/init.js", swagger_init, include_in_schema=False)
    app.add_route(redoc_url, redoc, include_in_schema=False)
