"""Where each role lands: `/` sends everyone to their own start page.

- /board (staff, night lead, manager): the night board, in board.py;
- /me (resident): the resident's own page, in resident.py;
- /manage (night lead, manager): what waits for their review, in manage.py;
- /admin (admin): the homes, in admin.py.
"""

from fastapi import APIRouter
from fastapi.responses import Response

from dashboard.viewer import SignedInDep, see_other

router = APIRouter(include_in_schema=False)


@router.get("/")
def get_start(viewer: SignedInDep) -> Response:
    return see_other(viewer.landing)

