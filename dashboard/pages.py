"""The dashboard put together: its page routers, its own static files, and error pages in the layout.

`mount_dashboard(app)` is called by hub/api/app.py:create_app. Requests under /api/ keep the API's JSON errors;
every other 403, 404 or refused input is answered with a page in the layout.
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from dashboard.routes import (
    admin,
    board,
    cases,
    devices,
    landing,
    manage,
    record,
    resident,
    roster,
    sign_in,
    tablets,
    thresholds,
    timelines,
)
from dashboard.templating import HERE, render
from dashboard.viewer import SignInNeeded, find_viewer, see_other

PAGE_ROUTERS = (sign_in.router, landing.router, record.router, tablets.router, board.router, resident.router,
                manage.router, timelines.router, cases.router, admin.router, roster.router, devices.router,
                thresholds.router)
"""Every router of pages, in the order they are matched. A new page module adds its router here."""

NOT_PAGES = ("/api/", "/api-docs/", "/docs", "/openapi.json")
"""Paths whose errors stay JSON: the API and its own documentation."""

TITLES = {
    status.HTTP_400_BAD_REQUEST: "That did not work",
    status.HTTP_403_FORBIDDEN: "Not for this account",
    status.HTTP_404_NOT_FOUND: "Page not found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "That did not work",
    status.HTTP_409_CONFLICT: "That did not work",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "Some of what was sent is not right",
}
MESSAGES = {  # in place of Starlette's bare reason phrases
    status.HTTP_404_NOT_FOUND: "There is nothing here. Check the address, or go back to your start page.",
    status.HTTP_405_METHOD_NOT_ALLOWED: "This address cannot be used that way.",
}


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return str(detail.get("detail", ""))
    return str(detail)


def error_page(request: Request, status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error page in the layout, with the navigation of whoever is signed in (a database read: run it in the
    thread pool)."""
    with request.app.state.sessions() as session:
        viewer = find_viewer(request, session, request.app.state.settings)
        return render(request, "error.html", {
            "title": TITLES.get(status_code, "Something went wrong"),
            "message": message,
        }, viewer=viewer, status_code=status_code, headers=headers)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if request.url.path.startswith(NOT_PAGES):
        return await http_exception_handler(request, error)
    message = _message(error.detail)
    if message == HTTPStatus(error.status_code).phrase:  # Starlette's own words ("Not Found"): say it plainly
        message = MESSAGES.get(error.status_code, "")
    return await run_in_threadpool(error_page, request, error.status_code, message, getattr(error, "headers", None))


async def _bad_input(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if request.url.path.startswith(NOT_PAGES):
        return await request_validation_exception_handler(request, error)
    wrong = "; ".join(f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}" for item in error.errors())
    return await run_in_threadpool(error_page, request, status.HTTP_422_UNPROCESSABLE_CONTENT, wrong)


async def _sign_in_needed(_request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInNeeded)
    return see_other(error.to)


def mount_dashboard(app: FastAPI) -> None:
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_input)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
