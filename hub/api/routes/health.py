from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from hub.api.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = Field(title="ok, or unavailable")
    database: str = Field(title="ok, or what went wrong")


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(session: SessionDep) -> Health | JSONResponse:
    """Whether the hub can reach its database."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        body = Health(status="unavailable", database=type(error).__name__)
        return JSONResponse(status_code=503, content=body.model_dump())
    return Health(status="ok", database="ok")
