"""Services, rooms and the booking policy guard their own values: names trimmed and
bounded, durations and buffers within their ranges, the policy's numbers within theirs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from appointments.domain.booking import (
    BOOKING_HORIZON_DAYS,
    CANCELLATION_CUTOFF_HOURS,
    MAX_ACTIVE_PER_PATIENT,
    MAX_DURATION_MINUTES,
    MAX_REMINDER_OFFSETS,
    MIN_DURATION_MINUTES,
    MIN_NOTICE_MINUTES,
    REMINDER_OFFSET_MINUTES,
    BookingPolicy,
    Range,
)
from appointments.domain.errors import InvalidValue, ServiceNotOffered
from appointments.domain.rooms import ROOM_NAME, Room
from appointments.domain.services import (
    MAX_BUFFER_MINUTES,
    MIN_BUFFER_MINUTES,
    SERVICE_NAME,
    Service,
)

DEPARTMENT = uuid4()


def service(**overrides: Any) -> Service:
    values: dict[str, Any] = {
        "name": "Check-up",
        "department_id": DEPARTMENT,
        "duration_minutes": 30,
    }
    return Service(**{**values, **overrides})


# --- services ------------------------------------------------------------------------


def test_a_service_has_no_buffers_and_is_active_by_default() -> None:
    made = service()
    assert (made.buffer_before_minutes, made.buffer_after_minutes) == (0, 0)
    assert made.is_active
    assert made.description is None
    assert (made.duration, made.buffer_before, made.buffer_after) == (
        timedelta(minutes=30),
        timedelta(0),
        timedelta(0),
    )


@pytest.mark.parametrize(
    ("name", "kept"),
    [(" Check-up ", "Check-up"), ("x" * SERVICE_NAME.max, "x" * SERVICE_NAME.max), ("x", "x")],
)
def test_service_names_are_trimmed_and_bounded(name: str, kept: str) -> None:
    assert service(name=name).name == kept


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * (SERVICE_NAME.max + 1)])
def test_service_names_out_of_bounds_are_refused(name: str) -> None:
    with pytest.raises(InvalidValue):
        service(name=name)


@pytest.mark.parametrize(
    ("minutes", "allowed"),
    [
        (MIN_DURATION_MINUTES - 1, False),
        (MIN_DURATION_MINUTES, True),
        (MAX_DURATION_MINUTES, True),
        (MAX_DURATION_MINUTES + 1, False),
        (0, False),
        (-30, False),
        (10**20, False),
    ],
)
def test_service_duration_is_bounded(minutes: int, allowed: bool) -> None:
    if allowed:
        assert service(duration_minutes=minutes).duration == timedelta(minutes=minutes)
    else:
        with pytest.raises(InvalidValue):
            service(duration_minutes=minutes)


@pytest.mark.parametrize("field", ["buffer_before_minutes", "buffer_after_minutes"])
@pytest.mark.parametrize(
    ("minutes", "allowed"),
    [
        (MIN_BUFFER_MINUTES - 1, False),
        (MIN_BUFFER_MINUTES, True),
        (15, True),
        (MAX_BUFFER_MINUTES, True),
        (MAX_BUFFER_MINUTES + 1, False),
    ],
)
def test_service_buffers_are_bounded(field: str, minutes: int, allowed: bool) -> None:
    if allowed:
        assert getattr(service(**{field: minutes}), field) == minutes
    else:
        with pytest.raises(InvalidValue):
            service(**{field: minutes})


def test_a_service_is_offered_only_by_its_department_while_active() -> None:
    made = service()
    made.check_offered_in(DEPARTMENT)
    with pytest.raises(ServiceNotOffered):
        made.check_offered_in(uuid4())
    made.deactivate()
    assert not made.is_active
    with pytest.raises(ServiceNotOffered):
        made.check_offered_in(DEPARTMENT)


# --- rooms ---------------------------------------------------------------------------


def test_a_room_may_belong_to_no_department() -> None:
    room = Room(name="  Room 1 ")
    assert (room.name, room.department_id, room.is_active) == ("Room 1", None, True)
    room.deactivate()
    assert not room.is_active


@pytest.mark.parametrize("name", ["", "  ", "x" * (ROOM_NAME.max + 1)])
def test_room_names_out_of_bounds_are_refused(name: str) -> None:
    with pytest.raises(InvalidValue):
        Room(name=name)
    room = Room(name="Room 1")
    with pytest.raises(InvalidValue):
        room.rename(name)
    assert room.name == "Room 1"


def test_renaming_a_room_trims() -> None:
    room = Room(name="Room 1", department_id=DEPARTMENT)
    room.rename(" " + "y" * ROOM_NAME.max + " ")
    assert room.name == "y" * ROOM_NAME.max


# --- the booking policy --------------------------------------------------------------


def test_policy_defaults() -> None:
    policy = BookingPolicy()
    assert (
        policy.min_notice_minutes,
        policy.booking_horizon_days,
        policy.cancellation_cutoff_hours,
        policy.max_active_per_patient,
        policy.reminder_offsets_minutes,
    ) == (0, 365, 0, 0, (1440,))


NUMBERS = [
    ("min_notice_minutes", MIN_NOTICE_MINUTES, Range(0, 10080)),
    ("booking_horizon_days", BOOKING_HORIZON_DAYS, Range(1, 730)),
    ("cancellation_cutoff_hours", CANCELLATION_CUTOFF_HOURS, Range(0, 336)),
    ("max_active_per_patient", MAX_ACTIVE_PER_PATIENT, Range(0, 100)),
]


@pytest.mark.parametrize(("field", "allowed", "documented"), NUMBERS, ids=[n[0] for n in NUMBERS])
def test_policy_numbers_are_bounded(field: str, allowed: Range, documented: Range) -> None:
    assert allowed == documented  # API.md's ranges
    for value in (allowed.min, allowed.max):
        assert getattr(BookingPolicy(**{field: value}), field) == value
    for value in (allowed.min - 1, allowed.max + 1):
        with pytest.raises(InvalidValue, match=field):
            BookingPolicy(**{field: value})


@pytest.mark.parametrize(
    "offsets",
    [
        (),
        (REMINDER_OFFSET_MINUTES.min,),
        (REMINDER_OFFSET_MINUTES.max,),
        (60, 1440, 2880, 30, 10080),
    ],
)
def test_policy_takes_up_to_five_reminder_offsets_in_range(offsets: tuple[int, ...]) -> None:
    assert BookingPolicy(reminder_offsets_minutes=offsets).reminder_offsets_minutes == offsets


@pytest.mark.parametrize(
    "offsets",
    [
        (REMINDER_OFFSET_MINUTES.min - 1,),
        (REMINDER_OFFSET_MINUTES.max + 1,),
        (0,),
        (60, -5),
        tuple(range(10, 10 * (MAX_REMINDER_OFFSETS + 2), 10)),  # one too many
    ],
)
def test_policy_refuses_bad_reminder_offsets(offsets: tuple[int, ...]) -> None:
    with pytest.raises(InvalidValue, match="reminder_offsets_minutes"):
        BookingPolicy(reminder_offsets_minutes=offsets)
