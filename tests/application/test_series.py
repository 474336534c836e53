"""Series use-cases on the memory adapters with a fixed clock: all or nothing with every
conflict listed, the policy per occurrence, local time across DST, visibility, and cancel
of future active occurrences only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import Action
from appointments.application.errors import Forbidden
from appointments.application.series import Series, SeriesRequest
from appointments.domain.appointments import Status
from appointments.domain.errors import (
    BookingLimitReached,
    ChangeWindowClosed,
    DoctorUnavailable,
    NotFound,
    SeriesRefused,
    TooShortNotice,
)
from appointments.domain.series import Frequency, Recurrence
from tests.application.conftest import Clinic, did, pid

WEEK = timedelta(weeks=1)


def weekly(count: int) -> Recurrence:
    return Recurrence(Frequency.WEEKLY, count=count)


class Cast:
    def __init__(self, clinic: Clinic, admin: Actor) -> None:
        self.clinic, self.admin = clinic, admin

    async def setup(self) -> Cast:
        self.doctor = await self.clinic.doctor(self.admin)
        self.other_doctor = await self.clinic.doctor(self.admin)
        self.patient = await self.clinic.patient()
        self.other_patient = await self.clinic.patient()
        return self

    def request(self, starts_at: datetime, count: int = 4, **fields: object) -> SeriesRequest:
        request = SeriesRequest(
            doctor_id=did(self.doctor),
            starts_at=starts_at,
            recurrence=weekly(count),
            patient_id=pid(self.patient),
            duration_minutes=30,
        )
        return replace(request, **fields)

    async def book(self, actor: Actor, request: SeriesRequest) -> Series:
        return await self.clinic.c.book_series()(actor, request)

    async def policy(self, **fields: int) -> None:
        values = {
            "min_notice_minutes": 0,
            "booking_horizon_days": 365,
            "cancellation_cutoff_hours": 0,
            "max_active_per_patient": 0,
        } | fields
        await self.clinic.c.put_policy()(self.admin, reminder_offsets_minutes=(), **values)


@pytest.fixture
async def cast(clinic: Clinic, admin: Actor) -> Cast:
    return await Cast(clinic, admin).setup()


async def test_every_occurrence_is_booked_in_one_commit(clinic: Clinic, cast: Cast) -> None:
    first = clinic.at(0, 10)
    with clinic.commits_once():
        series = await cast.book(cast.admin, cast.request(first, count=12))
    assert [a.starts_at for a in series.appointments] == [first + WEEK * k for k in range(12)]
    assert {a.series_id for a in series.appointments} == {series.id}
    assert len(clinic.state.appointments) == 12
    booked = [e for e in clinic.state.audit_events if e.action == "appointment.booked"]
    assert sorted(e.entity_id for e in booked) == sorted(a.id for a in series.appointments)
    [record] = [e for e in clinic.state.audit_events if e.action == "series.booked"]
    assert record.entity_id == series.id
    assert record.entity_type == "series"
    # Webhooks and email follow as for single bookings: one outbox message each.
    sent = [m for m, _ in clinic.state.outbox_messages.values()]
    assert sum(m.event_type == "appointment.booked" for m in sent) == 12


async def test_nothing_is_booked_and_every_conflict_is_listed(clinic: Clinic, cast: Cast) -> None:
    first = clinic.at(0, 10)
    for week in (1, 3):
        await clinic.book(cast.admin, cast.doctor, first + WEEK * week, cast.other_patient)
    with clinic.commits_nothing(), pytest.raises(SeriesRefused) as refused:
        await cast.book(cast.admin, cast.request(first, count=5))
    assert isinstance(refused.value.first, DoctorUnavailable)
    assert refused.value.code == "doctor_unavailable"
    assert refused.value.conflicts == [
        (first + WEEK, "doctor_unavailable"),
        (first + WEEK * 3, "doctor_unavailable"),
    ]


async def test_the_patients_own_time_counts_too(clinic: Clinic, cast: Cast) -> None:
    first = clinic.at(0, 10)
    await clinic.book(cast.admin, cast.other_doctor, first + WEEK * 2, cast.patient)
    with clinic.commits_nothing(), pytest.raises(SeriesRefused) as refused:
        await cast.book(cast.admin, cast.request(first))
    assert refused.value.conflicts == [(first + WEEK * 2, "patient_unavailable")]


async def test_notice_and_horizon_apply_to_each_occurrence(clinic: Clinic, cast: Cast) -> None:
    await cast.policy(min_notice_minutes=300, booking_horizon_days=14)
    request = cast.request(clinic.at(0, 10), patient_id=None)  # 4 hours ahead
    with clinic.commits_nothing(), pytest.raises(SeriesRefused) as refused:
        await cast.book(cast.patient, request)
    assert isinstance(refused.value.first, TooShortNotice)
    assert [code for _, code in refused.value.conflicts] == [
        "too_short_notice",
        "beyond_horizon",
        "beyond_horizon",
    ]
    assert [at for at, _ in refused.value.conflicts] == [
        clinic.at(0, 10),
        clinic.at(14, 10),
        clinic.at(21, 10),
    ]
    # Staff are exempt.
    staff = await cast.book(cast.admin, replace(request, patient_id=pid(cast.patient)))
    assert len(staff.appointments) == 4


async def test_the_booking_limit_counts_earlier_occurrences(clinic: Clinic, cast: Cast) -> None:
    await cast.policy(max_active_per_patient=3)
    await clinic.book(cast.patient, cast.other_doctor, clinic.at(1, 10))
    request = cast.request(clinic.at(2, 10), count=4, patient_id=None)
    with clinic.commits_nothing(), pytest.raises(SeriesRefused) as refused:
        await cast.book(cast.patient, request)
    assert isinstance(refused.value.first, BookingLimitReached)
    # One held: occurrences 1 and 2 fit, 3 and 4 would be the fourth and fifth.
    assert refused.value.conflicts == [
        (clinic.at(16, 10), "booking_limit_reached"),
        (clinic.at(23, 10), "booking_limit_reached"),
    ]
    ok = await cast.book(cast.patient, cast.request(clinic.at(2, 10), count=2, patient_id=None))
    assert len(ok.appointments) == 2


async def test_who_may_book_a_series(clinic: Clinic, cast: Cast) -> None:
    first = clinic.at(0, 10)
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await cast.book(cast.other_doctor, cast.request(first))
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await cast.book(cast.other_patient, cast.request(first))
    with clinic.commits_nothing(), pytest.raises(NotFound):  # an unknown doctor: no list
        await cast.book(cast.admin, SeriesRequest(uuid4(), first, weekly(2), pid(cast.patient)))
    assert len((await cast.book(cast.doctor, cast.request(first))).appointments) == 4


@pytest.mark.parametrize("clinic_timezone", ["Europe/Berlin", "America/New_York"])
async def test_local_time_is_kept_across_dst(clinic: Clinic, cast: Cast) -> None:
    """2030: New York springs forward on March 10, Berlin on March 31."""
    zone = ZoneInfo(clinic.c.settings().clinic_timezone)
    first = datetime.combine(date(2030, 3, 4), time(9), zone)
    series = await cast.book(cast.admin, cast.request(first, count=6))
    assert {a.starts_at.astimezone(zone).time() for a in series.appointments} == {time(9)}
    offsets = {a.starts_at.astimezone(zone).utcoffset() for a in series.appointments}
    assert len(offsets) == 2
    assert all(a.starts_at.tzinfo is UTC for a in series.appointments)


async def test_visibility(clinic: Clinic, cast: Cast) -> None:
    series = await cast.book(cast.admin, cast.request(clinic.at(0, 10), count=2))
    get = clinic.c.get_series()
    for who in (cast.admin, cast.doctor, cast.patient):
        assert (await get(who, series.id)).appointments == series.appointments
    for who in (cast.other_doctor, cast.other_patient):
        with pytest.raises(NotFound):
            await get(who, series.id)
        with clinic.commits_nothing(), pytest.raises(NotFound):
            await clinic.c.cancel_series()(who, series.id)
    with pytest.raises(NotFound):
        await get(cast.admin, uuid4())


async def test_cancel_leaves_past_and_final_occurrences(clinic: Clinic, cast: Cast) -> None:
    series = await cast.book(cast.admin, cast.request(clinic.at(0, 10), count=4))
    first, second, *_ = series.appointments
    await clinic.c.change_status()(cast.admin, second.id, Action.CANCEL, "Ill")
    clinic.clock.at = first.starts_at + timedelta(minutes=5)  # the first has started
    cancelled = await clinic.c.cancel_series()(cast.patient, series.id, "Moving")
    assert [a.status for a in cancelled.appointments] == [
        Status.SCHEDULED,
        Status.CANCELLED,
        Status.CANCELLED,
        Status.CANCELLED,
    ]
    assert cancelled.appointments[1].cancellation_reason == "Ill"  # untouched
    assert {a.cancellation_reason for a in cancelled.appointments[2:]} == {"Moving"}
    events = [e for e in clinic.state.audit_events if e.action == "appointment.cancelled"]
    assert len(events) == 3  # one by hand, two by the series
    [record] = [e for e in clinic.state.audit_events if e.action == "series.cancelled"]
    assert record.changes == {"cancelled_occurrences": {"old": None, "new": 2}}


async def test_a_patient_within_the_cutoff_cancels_nothing(clinic: Clinic, cast: Cast) -> None:
    series = await cast.book(cast.admin, cast.request(clinic.at(1, 10), count=3))
    await cast.policy(cancellation_cutoff_hours=48)
    with clinic.commits_nothing(), pytest.raises(ChangeWindowClosed):
        await clinic.c.cancel_series()(cast.patient, series.id)
    cancelled = await clinic.c.cancel_series()(cast.doctor, series.id)  # staff are exempt
    assert {a.status for a in cancelled.appointments} == {Status.CANCELLED}
