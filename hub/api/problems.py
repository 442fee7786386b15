"""Bad input gets a 4xx with a short reason code and a sentence, never a 500."""

from fastapi import HTTPException
from pydantic import BaseModel, Field


class Problem(BaseModel):
    reason: str = Field(title="Short code", examples=["bad_public_key"])
    detail: str = Field(title="What is wrong")


class ProblemResponse(BaseModel):
    detail: Problem


def problem(status_code: int, reason: str, detail: str) -> HTTPException:
    return HTTPException(status_code, detail={"reason": reason, "detail": detail})
