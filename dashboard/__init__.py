"""The web pages people use, served by the hub's API process: night board, resident page, timelines, admin.

Server-rendered (Jinja2), working without JavaScript; scripts only enhance, calling the same /api/v1 endpoints as
any client, signed by the page's session cookie. Every asset is our own, under dashboard/static/: no CDN.

How it fits together
--------------------
- `pages.mount_dashboard(app)` (called by hub/api/app.py:create_app) includes every router in
  `pages.PAGE_ROUTERS`, mounts dashboard/static/ at /static, and answers errors outside /api/ with a page in the
  layout (error.html: 403, 404, refused input); /api/ keeps its JSON errors.
- `viewer.py`: `page_for(*roles)` is the one dependency a page or form names. It gives a `Viewer` — `.caller`
  (the hub's SignedIn, as API routes get it), `.account`, `.role`, `.home` (None for an admin of no home),
  `.web_session`, `.csrf_token`, `.landing` — or sends someone not signed in to /sign-in?next=… (303), a manager or
  admin without a second factor to /account/totp, refuses a form post without its CSRF token (403), and any other
  role (403 page). `SignedInDep` is `page_for` every role; `OptionalViewerDep` is for public pages (None when
  nobody is signed in). `LANDING` is each role's start page.
- `templating.py`: `render(request, "page.html", {...}, viewer=viewer, status_code=200)` renders a template in the
  layout with the security headers (CSP 'self' only, no-store); `redirect_with_flash(path, message)` answers a
  form with 303 and a one-time message; `NAV_LINKS` is the navigation (a link shows to its roles); the Jinja filter
  `local_time(zone)` shows a stored UTC time on the home's clock (`zone` is in every page's context).
- `routes/`: sign_in.py (/sign-in, /sign-out, /account/totp), landing.py (/), board.py
  (/board/…: the night board and its forms; static/board.js keeps it live), record.py (/my-record, with the
  form explaining an entry; /data-use), tablets.py (/rooms/{room}/tablet: pairing a resident's tablet), resident.py
  (/me and /residents/{id}/preferences: the resident's own page, easy read), admin.py (/admin: homes, their
  rooms, residents and moves, staff, accounts), roster.py, devices.py and thresholds.py (/admin/homes/{home}/…:
  the admin's for any home, a manager's for their own, as the API allows), manage.py (/manage: entries to
  review with their explanations, the night summary, best-interests reviews), timelines.py (/timelines: the
  explorer; its picture drawn by ../timeline_picture.py) and cases.py (/cases: open, list, export).
- `forms.py`: a refused form shown again with each message beside its field (`checked` with the API's model,
  `as_form_errors` around the API's service function, `Refused`); templates/_fields.html has the matching macros.
- The rules live in the hub, used by these pages and by the API alike: hub/people/web_sessions.py (sessions,
  timeouts, CSRF), sign_in_limits.py (rate limits), second_factor.py (TOTP), tablets.py (paired tablets),
  accounts.py (`credentials_match`, `disable_account`).

Adding a page
-------------
1. A module in dashboard/routes/ with `router = APIRouter(include_in_schema=False)`, added to
   `pages.PAGE_ROUTERS`; a link in `templating.NAV_LINKS` if it belongs in the navigation.
2. Each route names `viewer: Annotated[Viewer, Depends(page_for(AccountRole.X, ...))]` and the hub's own
   dependencies (`SessionDep`, `SettingsDep`, `LiveDep` from hub/api/deps.py). Read data with the same functions
   the API routes use (factor one out of a route rather than copying it); check whose data it is as the API does
   (another home's or another resident's id gives 404 or 403 and shows nothing of theirs).
3. A template `dashboard/templates/<page>.html` that `{% extends "base.html" %}` and fills the blocks `title`
   (the page's name; the layout adds " – Threshold"), `main` (the content, starting with its one `<h1>`), and if
   needed `head` (extra `<link>`s), `body_class` (e.g. "easy-read" for the resident's large type) and `scripts`
   (`<script src="/static/…" defer>`; no inline script: the CSP refuses it).
4. Forms POST to a dashboard route, carry `<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`
   (checked by `page_for`), call the same service function as the API, then `redirect_with_flash(...)` (303), or
   re-render with the error and a 4xx. Scripts call the API with `window.threshold.api(method, path, body)`
   (static/threshold.js), which sends the page's CSRF token (also in `<meta name="csrf-token">`) as X-CSRF-Token.
5. Tests: a row per new route and method in tests/dashboard/test_route_walk.py's WALK (seven statuses: anonymous,
   ada, cy, sam, nia, meg, admin; with OURS and THEIRS rows where the route takes an id), plus BODIES / QUERIES /
   PARAMS when it needs a body, a query or another id (ids of each home's data are made by the walk's `data`
   fixture); the walk fails until every route has its row. Browser checks use tests/dashboard/conftest.py's
   `dashboard` (served app; `.sign_in_page(page, who, beside=...)`, `.signed_in(who)` for an HTTP client's cookie
   and CSRF token, `.totp_code(who)`), `browser` and `page_checks(page, name)` (axe-core WCAG 2.2 AA at desktop and
   phone widths, screenshots in test-output/screenshots/).
"""
