"""Shared field types and the page envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    model_validator,
)

from appointments.application.ports import Page

T = TypeVar("T")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time string with an offset")
    return value


# ISO 8601 strings with an offset only: no naive times, no numbers read as timestamps.
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_to_utc)]
# JSON integers and booleans only: "1" or "yes" is not silently converted.
JsonInt = Annotated[int, Strict()]
JsonBool = Annotated[bool, Strict()]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,50}$")]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=5000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # PATCH fields that may be omitted but not set to null.
    not_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_nulls(self) -> Self:
        if nulls := sorted(
            n for n in self.not_null & self.model_fields_set if getattr(self, n) is None
        ):
            raise ValueError(f"{', '.join(nulls)} may not be null")
        return self

    def sent(self) -> dict[str, object]:
        """The fields the client actually sent (PATCH semantics)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorOut(BaseModel):
    """Every error body. `detail` is a list only for request validation errors."""

    detail: str | list[dict[str, Any]]
    code: str | None = None


def errors(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer."""
    return {code: {"model": ErrorOut} for code in status_codes}


AUTH_ERRORS = (401, 422, 503)


M = TypeVar("M", bound=BaseModel)


def page_out(model: type[M], page: Page[Any]) -> PageOut[M]:
    return PageOut[model](  # type: ignore[valid-type]
        items=[model.model_validate(item) for item in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
