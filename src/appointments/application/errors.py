"""Errors raised by use-cases beyond the domain's own (see domain/errors.py)."""

from __future__ import annotations

from appointments.domain.errors import CodedError, Conflict, RuleViolation


class NotAuthenticated(CodedError):
    """Missing, invalid, expired or revoked credentials (HTTP 401)."""

    code = "not_authenticated"
    default_detail = "Not authenticated."


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    default_detail = "Incorrect username or password."


class Forbidden(CodedError):
    """Authenticated, but the role may not use this operation (HTTP 403)."""

    code = "forbidden"
    default_detail = "Your role may not do this."


class TooManyAttempts(CodedError):
    """Too many failed logins (HTTP 429); `retry_after` is in whole seconds."""

    code = "too_many_attempts"
    default_detail = "Too many failed login attempts. Try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class FetchedTooOften(TooManyAttempts):
    """A calendar feed fetched more often than calendar apps ever poll (HTTP 429)."""

    default_detail = "This calendar feed is fetched too often. Try again later."


class DatabaseUnavailable(CodedError):
    """The database does not answer (HTTP 503)."""

    code = "database_unavailable"
    default_detail = "The database is unavailable. Try again shortly."


class WrongCurrentPassword(RuleViolation):
    code = "invalid_credentials"
    default_detail = "The current password is wrong."


class RangeTooLong(RuleViolation):
    code = "range_too_long"
    default_detail = "The date range is too long."


class FieldNotAllowed(RuleViolation):
    """A field this caller may not set was sent: refused, never silently applied."""

    code = "field_not_allowed"
    default_detail = "You may not change one of the fields sent."


class ConcurrentUpdate(Conflict):
    """Another transaction changed the same rows at the same time (HTTP 409): retry."""

    code = "concurrent_update"
    default_detail = "Someone else changed this at the same time. Try again."


class InvalidIdempotencyKey(CodedError):
    """An `Idempotency-Key` header that is not 1..255 printable ASCII characters (400)."""

    code = "invalid_idempotency_key"
    default_detail = "The Idempotency-Key must be 1 to 255 printable ASCII characters."


class IdempotencyKeyReused(RuleViolation):
    """The key was first used for another method, path or body (422)."""

    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used for a different request."


class IdempotencyKeyInUse(Conflict):
    """The first request with this key is still running (409): retry once it is done."""

    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed."


class DeliveryFailed(Exception):
    """A webhook or an email could not be handed over (timeout, refused, TLS, SMTP
    refusal): the dispatcher retries it. Its message is logged and shown in the delivery
    log, so it never carries a secret or a recipient's address."""
