"""Shared field types and the page envelope."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from appointments.application.ports.queries import Page
from appointments.domain.contact import FULL_NAME, PHONE
from appointments.domain.text import Length
from appointments.domain.users import PASSWORD, USERNAME_PATTERN

# Routers find the error helpers here too (re-exported).
from appointments.entrypoints.api.openapi import AUTH_ERRORS as AUTH_ERRORS
from appointments.entrypoints.api.openapi import RETRY_AFTER as RETRY_AFTER
from appointments.entrypoints.api.openapi import ErrorOut as ErrorOut
from appointments.entrypoints.api.openapi import errors as errors

T = TypeVar("T")
C = TypeVar("C")


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the date-time is out of range") from None


# RFC 3339 (the OpenAPI `date-time` / `date` formats): pydantic alone would also read
# "0" or 1700000000 as timestamps, and accept a space for the "T" or no seconds.
_RFC3339_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_RFC3339_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text_only(value: object) -> object:
    if not isinstance(value, str) or not _RFC3339_DATETIME.fullmatch(value):
        raise ValueError("expected an ISO 8601 date-time string with an offset")
    return value


def _date_text_only(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # already a date (built in Python, not parsed from a request)
    if not isinstance(value, str) or not _RFC3339_DATE.fullmatch(value):
        raise ValueError("expected an ISO 8601 date string (YYYY-MM-DD)")
    return value


# ISO 8601 strings with an offset only: no naive times, no numbers read as timestamps.
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_to_utc)]
# YYYY-MM-DD strings only, in bodies and in query strings.
IsoDate = Annotated[date, BeforeValidator(_date_text_only)]


def _number_only(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a JSON integer")
    return value


# JSON integers and booleans only: "1" or "yes" is not silently converted. 3.0 is an
# integer in JSON Schema, so it is one here too (3.5 is still refused). Bounds on an
# optional field go before it, `Annotated[int, Field(ge=1), JSON_NUMBER]`, or OpenAPI
# would show pydantic's `ge`/`le` instead of `minimum`/`maximum`.
JSON_NUMBER = BeforeValidator(_number_only)
JsonInt = Annotated[int, JSON_NUMBER]
JsonBool = Annotated[bool, Strict()]
Password = Annotated[str, StringConstraints(min_length=PASSWORD.min, max_length=PASSWORD.max)]
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
# Unicode White_Space: what pydantic's (Rust) `\s` and `\S` mean, and what is trimmed.
_BLANKS = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def _trim(value: str) -> str:
    return value.strip(_BLANKS)


def required(length: Length) -> StringConstraints:
    """Required text within `length`. Used with TRIM: the documented limits hold on what
    the client sent (`strip_whitespace` would check them after trimming, so "\\r" or 201
    characters with a blank around them would contradict `minLength`/`maxLength`), and a
    blank-only value is refused by the documented `pattern`."""
    return StringConstraints(min_length=length.min, max_length=length.max, pattern=r"\S")


def free(length: Length) -> StringConstraints:
    """Free text of at most `length.max` characters, kept as sent."""
    return StringConstraints(max_length=length.max)


# Stored without surrounding blanks.
TRIM = AfterValidator(_trim)
FullName = Annotated[str, required(FULL_NAME), TRIM]
Phone = Annotated[str, required(PHONE), TRIM]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # PATCH fields that may be omitted but not set to null.
    not_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul_characters(cls, data: Any) -> Any:
        """PostgreSQL text cannot hold U+0000: refused in any text field (422), not a 500."""
        if isinstance(data, dict) and any(
            isinstance(value, str) and "\x00" in value for value in data.values()
        ):
            raise ValueError("text may not contain the NUL character (U+0000)")
        return data

    @model_validator(mode="after")
    def _refuse_nulls(self) -> Self:
        if nulls := sorted(
            n for n in self.not_null & self.model_fields_set if getattr(self, n) is None
        ):
            raise ValueError(f"{', '.join(nulls)} may not be null")
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Document `not_null` fields as optional but never null, as they are validated."""
        json_schema = handler(core_schema)
        properties = handler.resolve_ref_schema(json_schema).get("properties", {})
        for name in cls.not_null:
            field = properties.get(name, {})
            branches = [b for b in field.pop("anyOf", []) if b != {"type": "null"}]
            if branches:
                field.pop("default", None)
                field.update(branches[0] if len(branches) == 1 else {"anyOf": branches})
        return json_schema

    def changes(self, into: type[C]) -> C:
        """The fields the client sent, as the use-case's partial update (`into`, a dataclass
        of `Maybe` fields named like this model's): the others stay UNSET."""
        return into(**{name: getattr(self, name) for name in self.model_fields_set})


class Output(BaseModel):
    # Every field of an answer is always sent (null where empty): the schema says so, so
    # generated clients type them as present (`doctor_id: UUID | None`, not optional).
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


M = TypeVar("M", bound=BaseModel)


def page_out(model: type[M], page: Page[Any]) -> PageOut[M]:
    return PageOut[model](  # type: ignore[valid-type]
        items=[model.model_validate(item) for item in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
