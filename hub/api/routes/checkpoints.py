"""The hub's signed checkpoints for download, so a copy can live outside the hub (a witness keeps them)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.deps import ManagerDep, SessionDep
from hub.api.problems import PROBLEMS
from hub.evidence.checkpoints import export_checkpoints
from protocol.events import MAX_SAFE_INT

router = APIRouter(tags=["checkpoints"], responses=PROBLEMS)


@router.get("/checkpoints", response_model=list[dict[str, Any]])
def get_checkpoints(_caller: ManagerDep, session: SessionDep,
                    after: Annotated[int, Query(ge=0, le=MAX_SAFE_INT, description="Only those numbered above")] = 0,
                    ) -> list[dict[str, Any]]:
    """Every checkpoint numbered above `after`, oldest first, as `{"checkpoint": {…}, "sig": "…"}`. A manager.
    They hold only chain heads (sources, seqs, hashes, public keys), no event of anyone's."""
    return export_checkpoints(session, after)
