"""The admin dashboard counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appointments.application.access import Actor
from appointments.application.appointments import Action
from appointments.application.errors import Forbidden
from appointments.domain.appointments import Status
from appointments.domain.users import Role
from tests.application.conftest import Clinic


@pytest.mark.parametrize("clinic_timezone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
async def test_dashboard_counts(clinic: Clinic, admin: Actor) -> None:
    """At 08:30 on Tuesday, clinic time. In Tokyo and Los Angeles the UTC date differs from
    the local one for part of the day, so a UTC "today" would count other appointments."""
    clinic.clock.at = clinic.at(0, 8)  # Monday 08:00 local
    retired = await clinic.admin()
    await clinic.c.deactivate_user()(admin, retired.user_id)
    department = await clinic.department(admin)
    await clinic.department(admin)
    d, o = await clinic.doctor(admin, department.id), await clinic.doctor(admin, department.id)
    p, q = await clinic.patient(), await clinic.patient()
    await clinic.front_desk_patient(admin)
    change = clinic.c.change_status()

    no_show = await clinic.book(p, d, clinic.at(0, 10))  # yesterday
    await clinic.book(p, d, clinic.at(1, 9))  # today, scheduled
    cancelled = await clinic.book(q, d, clinic.at(1, 15))  # today, cancelled
    await change(q, cancelled.id, Action.CANCEL)
    confirmed = await clinic.book(p, o, clinic.at(1, 16, 30))  # today, confirmed
    await change(o, confirmed.id, Action.CONFIRM)
    await clinic.book(q, d, clinic.at(4, 10))  # Friday, scheduled
    await clinic.book(p, d, clinic.at(8, 10))  # next Tuesday: beyond seven days
    checked_in = await clinic.book(q, o, clinic.at(2, 10))  # Wednesday
    await change(o, checked_in.id, Action.CHECK_IN)
    completed = await clinic.book(p, o, clinic.at(3, 10))  # Thursday
    await change(o, completed.id, Action.CHECK_IN)
    await change(o, completed.id, Action.COMPLETE)
    clinic.clock.at = clinic.at(1, 8, 30)  # Tuesday 08:30 local
    await change(d, no_show.id, Action.NO_SHOW)

    with clinic.commits_nothing():
        stats = await clinic.c.dashboard_stats()(admin)

    assert (stats.users_total, stats.users_active) == (6, 5)
    assert stats.users_by_role == {Role.ADMIN: 2, Role.DOCTOR: 2, Role.PATIENT: 2}
    assert (stats.departments, stats.doctors, stats.patients) == (2, 2, 3)
    assert stats.appointments_total == 8
    assert stats.appointments_by_status == {
        Status.SCHEDULED: 3,
        Status.CONFIRMED: 1,
        Status.CHECKED_IN: 1,
        Status.COMPLETED: 1,
        Status.CANCELLED: 1,
        Status.NO_SHOW: 1,
    }
    assert stats.appointments_today == 2
    # Scheduled today, confirmed today, Wednesday's checked-in, Friday's.
    assert stats.appointments_next_7_days == 4


async def test_upcoming_window_is_seven_days_from_now(clinic: Clinic, admin: Actor) -> None:
    d, p = await clinic.doctor(admin), await clinic.patient()
    await clinic.book(p, d, clinic.at(7, 9))  # next Monday 09:00
    dashboard = clinic.c.dashboard_stats()

    clinic.clock.at = clinic.at(0, 9) - timedelta(minutes=1)
    assert (await dashboard(admin)).appointments_next_7_days == 0
    clinic.clock.at = clinic.at(0, 9) + timedelta(minutes=1)
    assert (await dashboard(admin)).appointments_next_7_days == 1


@pytest.mark.parametrize("kind", ["doctor", "patient"])
async def test_dashboard_is_admin_only(clinic: Clinic, admin: Actor, kind: str) -> None:
    actor = await clinic.doctor(admin) if kind == "doctor" else await clinic.patient()
    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await clinic.c.dashboard_stats()(actor)
