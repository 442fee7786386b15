"""Rendering a page: the templates, what every page's layout is given, the navigation by role, flash messages,
and the headers every page carries."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from dashboard.viewer import EVERYONE, Viewer, see_other
from hub.api.deps import CARERS, LEADS
from hub.db.models import AccountRole

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

FLASH_COOKIE = "threshold_flash"
MAX_FLASH = 300

PAGE_HEADERS = {
    # Our own files only: no CDN, no inline script, no framing.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages hold people's data: never kept by a shared browser's cache or a proxy.
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavLink:
    path: str
    label: str
    roles: frozenset[AccountRole]


NAV_LINKS: list[NavLink] = [
    NavLink("/me", "My page", frozenset({AccountRole.RESIDENT})),
    NavLink("/board", "Night board", CARERS),
    NavLink("/manage", "Manage", LEADS),
    NavLink("/timelines", "Timelines", LEADS),
    NavLink("/cases", "Cases", frozenset({AccountRole.MANAGER})),
    NavLink("/admin", "Admin", frozenset({AccountRole.ADMIN})),
    NavLink("/admin/homes/{home}/roster", "Home settings", frozenset({AccountRole.MANAGER})),
    NavLink("/my-record", "My record", CARERS),
    NavLink("/data-use", "Data use", EVERYONE),
]
"""The layout's navigation, in order; each link shows only to its roles. A new page adds its link here. A path
with "{home}" is to the viewer's own home's page (left out for a viewer of no home)."""


def nav_for(viewer: Viewer | None) -> list[NavLink]:
    if viewer is None or viewer.web_session.enrolling:
        return []
    home_id = viewer.home.id if viewer.home else None
    return [NavLink(link.path.format(home=home_id), link.label, link.roles) for link in NAV_LINKS
            if viewer.role in link.roles and (home_id is not None or "{home}" not in link.path)]


def local_time(moment: datetime | None, zone: str | ZoneInfo) -> str:
    """A stored UTC time as the home's wall clock shows it."""
    if moment is None:
        return ""
    return moment.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)).strftime("%d %b %Y, %H:%M")


templates.env.filters["local_time"] = local_time


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, viewer: Viewer | None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page in the layout. The layout gets `viewer` (or None), `csrf_token`, `nav`, `home` (the viewer's home or
    None), `zone` (its time zone name, for the `local_time` filter) and `flash` (a message left by the redirect that
    led here), besides `context`."""
    home = viewer.home if viewer else None
    response = templates.TemplateResponse(request, template, {
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer else "",
        "nav": nav_for(viewer),
        "home": home,
        "zone": home.time_zone if home else "UTC",
        "flash": unquote(request.cookies.get(FLASH_COOKIE, ""))[:MAX_FLASH],
        **(context or {}),
    }, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, httponly=True, secure=True, samesite="strict", path="/")
    return response


def redirect_with_flash(to: str, message: str) -> RedirectResponse:
    """303 to `to`, whose page shows `message` once (a form's "done", after post/redirect/get)."""
    response = see_other(to)
    # Quoted: a cookie value cannot hold every character a sentence may.
    response.set_cookie(FLASH_COOKIE, quote(message[:MAX_FLASH]), httponly=True, secure=True, samesite="strict", path="/")
    return response
