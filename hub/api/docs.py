"""The API's own reference page (Swagger UI), served with the assets of the `swagger-ui-bundle` package: FastAPI's
default pages load them from a CDN, and a care home's network is often closed."""

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/api-docs/assets"


def mount_api_docs(app: FastAPI) -> None:
    """/docs for the OpenAPI description at /openapi.json; create the app with docs_url=None, redoc_url=None."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="api-docs-assets")
    # Plain values, not the app, in the page's closure: FastAPI caches endpoints by identity for the life of the
    # process, and an app held there keeps its broker link (and its sockets) with it.
    openapi_url, title = app.openapi_url or "/openapi.json", f"{app.title} – API"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png", oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
