"""A form the hub refused, told to the person who sent it: each message beside its field and in a summary at the
top, what they typed kept (never a password), and the status the API gives the same refusal.

A page's form post checks what was sent with the API's own pydantic model (`checked`), makes the change with the
API's own service function inside `as_form_errors` (which turns the API's 4xx problem into form errors), and on
`Refused` renders its page again with `refused.state(values)`.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, ValidationError

from hub.api.deps import CSRF_FIELD

WHOLE_FORM = ""
"""The key of an error about the form as a whole rather than one field."""

Model = TypeVar("Model", bound=BaseModel)


@dataclass
class FormState:
    """What a form shows: the values to fill in (by field name) and the error beside each field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def sentence(text: str) -> str:
    """The API's lower-case reason as a sentence."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


class Refused(Exception):
    """A form that cannot be saved as sent."""

    def __init__(self, status_code: int, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.status_code = status_code
        self.errors = errors

    def state(self, values: Mapping[str, str], keep_out: tuple[str, ...] = ("password",)) -> FormState:
        """The form again with what was typed, except fields never sent back to a browser."""
        return FormState({name: value for name, value in values.items() if name not in keep_out}, dict(self.errors))


def problem_text(error: HTTPException) -> tuple[str, str]:
    """The reason code and sentence of an API problem (or of a plain HTTPException)."""
    detail = error.detail
    if isinstance(detail, dict):
        return str(detail.get("reason", "")), sentence(str(detail.get("detail", "")))
    return "", sentence(str(detail))


@contextmanager
def as_form_errors(fields: Mapping[str, str]) -> Iterator[None]:
    """Run an API service function; its 4xx problem becomes `Refused`, the message against the field its reason
    code names in `fields` (else the whole form)."""
    try:
        yield
    except HTTPException as error:
        if error.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
            raise
        reason, text = problem_text(error)
        raise Refused(error.status_code, {fields.get(reason, WHOLE_FORM): text}) from None


def _plain(item: Mapping[str, Any], labels: Mapping[str, str]) -> tuple[str, str]:
    """One of pydantic's errors in plain words, and the field it is about."""
    name = str(item["loc"][0]) if item["loc"] else WHOLE_FORM
    label = labels.get(name, name.replace("_", " "))
    kind, context = item["type"], item.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return name, f"Enter {label}."
    if kind == "string_too_long":
        return name, sentence(f"{label} has at most {context.get('max_length')} characters")
    if kind in ("enum", "literal_error"):
        return name, f"Choose {label}."
    return name, sentence(str(item["msg"]))


def refused_input(error: ValidationError, labels: Mapping[str, str]) -> Refused:
    """What the API's model refused, each message against its field (the first per field); 422 as the API."""
    errors: dict[str, str] = {}
    for item in error.errors():
        name, message = _plain(item, labels)
        errors.setdefault(name, message)
    return Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)


def checked(model: type[Model], values: Mapping[str, Any], labels: Mapping[str, str]) -> Model:
    """`values` as the API's `model` accepts them, or `Refused`."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise refused_input(error, labels) from None


async def form_values(request: Request) -> dict[str, str]:
    """Every text field of a form post but its CSRF token, for a form whose fields are not known in advance (rows
    of a list). A dependency, so that the route itself need not be async to read the body."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str) and name != CSRF_FIELD}


FormValuesDep = Annotated[dict[str, str], Depends(form_values)]
