"""Bad input gets a 4xx with a short reason code and a sentence, never a 500."""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.people.errors import Conflict, NotFound, PeopleError
from hub.people.preferences import PermissionRefused


class Problem(BaseModel):
    reason: str = Field(title="Short code", examples=["bad_public_key"])
    detail: str = Field(title="What is wrong")


class ProblemResponse(BaseModel):
    detail: Problem


def problem(status_code: int, reason: str, detail: str, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(status_code, detail={"reason": reason, "detail": detail}, headers=headers)


def people_problem(error: PeopleError) -> HTTPException:
    """The HTTP answer to a refused change about people: unknown id 404, clash 409, not on this basis 403, else 400."""
    if isinstance(error, NotFound):
        code = status.HTTP_404_NOT_FOUND
    elif isinstance(error, Conflict):
        code = status.HTTP_409_CONFLICT
    elif isinstance(error, PermissionRefused):
        code = status.HTTP_403_FORBIDDEN
    else:
        code = status.HTTP_400_BAD_REQUEST
    return problem(code, error.reason, error.detail)


PROBLEMS = {code: {"model": ProblemResponse} for code in (400, 401, 403, 404, 409)}


@contextmanager
def people_change(session: Session) -> Iterator[None]:
    """Run a change about people and commit it, or turn its refusal into a 4xx with nothing written."""
    try:
        yield
        session.commit()
    except PeopleError as error:
        session.rollback()
        raise people_problem(error) from None
    except IntegrityError:
        # Another request saved a clashing change between our checks and our commit (a version number, a name).
        session.rollback()
        raise problem(status.HTTP_409_CONFLICT, "concurrent_change",
                      "another change to the same record was saved first; look again and retry") from None
