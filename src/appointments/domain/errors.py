"""Domain errors. Each carries a stable machine-readable `code` that clients can switch on.

The category base classes (Conflict, RuleViolation, ...) tell the edge which status to use,
so adding an error never means touching the HTTP layer.
"""

from __future__ import annotations

from datetime import datetime


class CodedError(Exception):
    """Any error a client is told about: a human `detail` and a stable `code`. The domain's
    are DomainErrors; the application adds its own (authentication, outages...)."""

    code: str = "error"
    default_detail: str = "The request failed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class DomainError(CodedError):
    """A request that breaks a rule of the clinic."""

    code = "domain_error"
    default_detail = "The request breaks a rule of the clinic."


class Conflict(DomainError):
    """The request clashes with the current state (HTTP 409)."""


class RuleViolation(DomainError):
    """The input is well-formed but breaks a domain rule (HTTP 422)."""


class NotFound(DomainError):
    """Unknown id, or an object the caller may not see (HTTP 404: never reveal existence)."""

    code = "not_found"
    default_detail = "Not found."


class EmailTaken(Conflict):
    code = "email_taken"
    default_detail = "A user with this email already exists."


class UsernameTaken(Conflict):
    code = "username_taken"
    default_detail = "A user with this username already exists."


class LastAdmin(Conflict):
    code = "last_admin"
    default_detail = "This would leave the clinic without an active administrator."


class DepartmentExists(Conflict):
    code = "department_exists"
    default_detail = "A department with this name already exists."


class DepartmentNotEmpty(Conflict):
    code = "department_not_empty"
    default_detail = "The department still has doctors."


class DoctorUnavailable(Conflict):
    code = "doctor_unavailable"
    default_detail = "The doctor already has an appointment at that time."


class PatientUnavailable(Conflict):
    code = "patient_unavailable"
    default_detail = "The patient already has an appointment at that time."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "The appointment cannot make that move from its current status."


class InvalidDuration(RuleViolation):
    code = "invalid_duration"
    default_detail = "An appointment lasts from 5 minutes to 8 hours and ends after it starts."


class InThePast(RuleViolation):
    code = "in_the_past"
    default_detail = "The appointment must start in the future."


class OutsideSchedule(RuleViolation):
    code = "outside_schedule"
    default_detail = "The time is outside the doctor's working hours or during their time off."


class InactiveParty(RuleViolation):
    code = "inactive_party"
    default_detail = "The doctor or the patient is not active."


class InvalidSchedule(RuleViolation):
    code = "invalid_schedule"
    default_detail = "The schedule is invalid."


class InvalidValue(RuleViolation):
    code = "invalid_value"
    default_detail = "A value is invalid."


class ServiceExists(Conflict):
    code = "service_exists"
    default_detail = "The department already has a service with this name."


class RoomExists(Conflict):
    code = "room_exists"
    default_detail = "A room with this name already exists."


class RoomUnavailable(Conflict):
    code = "room_unavailable"
    default_detail = "The room is already booked at that time."


class ServiceNotOffered(RuleViolation):
    code = "service_not_offered"
    default_detail = "The service is not active or not offered by this doctor's department."


class TooShortNotice(RuleViolation):
    code = "too_short_notice"
    default_detail = "The appointment starts too soon to be booked or moved online."


class BeyondHorizon(RuleViolation):
    code = "beyond_horizon"
    default_detail = "The appointment starts too far ahead to be booked online."


class ChangeWindowClosed(Conflict):
    code = "change_window_closed"
    default_detail = "The appointment starts too soon to be cancelled or moved online."


class BookingLimitReached(Conflict):
    code = "booking_limit_reached"
    default_detail = "You already hold the most upcoming appointments a patient may book."


class WebhookUrlNotAllowed(RuleViolation):
    """Not an http(s) URL a webhook may target, or its host resolves to a loopback,
    private, link-local, multicast or reserved address (or not at all): no SSRF."""

    code = "webhook_url_not_allowed"
    default_detail = "The webhook URL is not allowed."


class HoldExpired(Conflict):
    code = "hold_expired"
    default_detail = "The hold has expired; its time may already be taken."


class InvalidRecurrence(RuleViolation):
    code = "invalid_recurrence"
    default_detail = (
        "A recurrence is daily or weekly, every 1 to 8 days or weeks, with a count of 2 to 52 "
        "or an until date giving 2 to 52 occurrences."
    )


class SeriesRefused(DomainError):
    """A series not booked: `first` is the first failing occurrence's error (its status and
    code are the answer's), `conflicts` every failing occurrence as (starts_at, code)."""

    def __init__(self, first: DomainError, conflicts: list[tuple[datetime, str]]) -> None:
        self.first, self.conflicts = first, conflicts
        self.code = first.code
        super().__init__(
            f"{len(conflicts)} occurrence(s) of the series cannot be booked; "
            f"the first: {first.detail}"
        )
