"""The FHIR R4 read API end to end: every answer validated with fhir.resources (R4B),
across a reschedule, a cancellation and a daylight-saving change in a Berlin clinic;
visibility as in /api; Slot agrees with REST availability."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.entrypoints.api.app import create_app
from tests.api.fhir_support import FHIR, entries, link, outcome, resource
from tests.api.support import ApiClinic, Party, at, client_for, make_container
from tests.api.test_calendar_feeds import AFTER_DST, BEFORE_DST, ZONE


@pytest.fixture
async def berlin(
    database_url: str, engine: AsyncEngine, clock: FixedClock
) -> AsyncIterator[ApiClinic]:
    clock.at = datetime(2027, 3, 1, 8, tzinfo=UTC)
    container = make_container(database_url, engine, clock, clinic_timezone=ZONE)
    async with client_for(create_app(container)) as client:
        yield ApiClinic(client, container, clock)


async def get(clinic: ApiClinic, who: Party | None, path: str, **params: Any) -> Any:
    headers = who.headers if who else {}
    return await clinic.client.get(f"{FHIR}{path}", params=params, headers=headers)


async def test_metadata_needs_no_token_and_lists_the_resources(berlin: ApiClinic) -> None:
    statement = resource(await get(berlin, None, "/metadata"))
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"].startswith("4.0")
    kinds = {r["type"] for r in statement["rest"][0]["resource"]}
    assert kinds == {"Appointment", "Patient", "Practitioner", "Schedule", "Slot"}


async def test_an_appointment_through_move_cancellation_and_dst(berlin: ApiClinic) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    booked = await clinic.book(patient, doctor, at(BEFORE_DST, 10, zone=ZONE))
    appointment_id = booked.json()["id"]
    path = f"/Appointment/{appointment_id}"

    first = resource(await get(clinic, patient, path))
    assert (first["status"], first["start"], first["end"]) == (
        "booked",
        "2027-03-26T09:00:00Z",
        "2027-03-26T09:30:00Z",
    )
    assert first["minutesDuration"] == 30
    actors = {p["actor"]["reference"] for p in first["participant"]}
    assert actors == {f"Patient/{patient.patient_id}", f"Practitioner/{doctor.doctor_id}"}
    for reference in actors:
        resource(await get(clinic, patient, "/" + reference))

    clinic.clock.advance(timedelta(minutes=1))
    moved = await clinic.client.patch(
        f"/api/appointments/{appointment_id}",
        json={"starts_at": at(AFTER_DST, 10, zone=ZONE).isoformat()},
        headers=doctor.headers,
    )
    assert moved.status_code == 200, moved.text
    second = resource(await get(clinic, doctor, path))
    assert second["start"] == "2027-03-29T08:00:00Z"  # 10:00 in Berlin, now UTC+2
    assert int(second["meta"]["versionId"]) > int(first["meta"]["versionId"])

    for action, status in (("check-in", "checked-in"), ("complete", "fulfilled")):
        response = await clinic.client.post(
            f"/api/appointments/{appointment_id}/{action}", headers=doctor.headers
        )
        assert response.status_code == 200, response.text
        assert resource(await get(clinic, admin, path))["status"] == status

    other = await clinic.book(patient, doctor, at(AFTER_DST, 14, zone=ZONE))
    cancelled = await clinic.client.post(
        f"/api/appointments/{other.json()['id']}/cancel",
        json={"reason": "Travelling"},
        headers=patient.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    gone = resource(await get(clinic, patient, f"/Appointment/{other.json()['id']}"))
    assert gone["status"] == "cancelled"
    assert gone["cancelationReason"] == {"text": "Travelling"}


async def test_search_filters_pages_and_stays_within_the_callers_view(berlin: ApiClinic) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor, other_doctor = await clinic.doctor(admin), await clinic.doctor(admin)
    patient, other_patient = await clinic.patient(), await clinic.patient()
    starts = [at(BEFORE_DST, 9 + i, zone=ZONE) for i in range(3)]
    mine = [(await clinic.book(patient, doctor, s)).json()["id"] for s in starts]
    after = (await clinic.book(patient, other_doctor, at(AFTER_DST, 9, zone=ZONE))).json()["id"]
    theirs = (await clinic.book(other_patient, doctor, at(AFTER_DST, 11, zone=ZONE))).json()["id"]

    everything = resource(await get(clinic, patient, "/Appointment"))
    assert everything["total"] == 4
    assert [a["id"] for a in entries(everything)] == [*mine, after]
    page = resource(await get(clinic, patient, "/Appointment", _count=2))
    assert (page["total"], len(entries(page))) == (4, 2)
    following = link(page, "next")
    assert following is not None
    assert link(page, "self")
    rest = resource(await clinic.client.get(following, headers=patient.headers))
    assert [a["id"] for a in entries(rest)] == [*mine[2:], after]
    assert link(rest, "next") is None

    by_doctor = await get(
        clinic, admin, "/Appointment", practitioner=f"Practitioner/{doctor.doctor_id}"
    )
    assert {a["id"] for a in entries(resource(by_doctor))} == {*mine, theirs}
    by_patient = await get(clinic, admin, "/Appointment", patient=str(other_patient.patient_id))
    assert [a["id"] for a in entries(resource(by_patient))] == [theirs]
    # Another patient's id narrows the caller's own view: nothing, never their records.
    peek = await get(clinic, patient, "/Appointment", patient=str(other_patient.patient_id))
    assert resource(peek)["total"] == 0

    on_day = await get(clinic, patient, "/Appointment", date=str(BEFORE_DST))
    assert [a["id"] for a in entries(resource(on_day))] == mine
    window = await clinic.client.get(
        f"{FHIR}/Appointment",
        params=[("date", f"ge{starts[1].isoformat()}"), ("date", f"lt{AFTER_DST}")],
        headers=patient.headers,
    )
    assert [a["id"] for a in entries(resource(window))] == mine[1:]
    later = await get(clinic, patient, "/Appointment", date=f"gt{BEFORE_DST}")
    assert [a["id"] for a in entries(resource(later))] == [after]
    up_to = await get(clinic, patient, "/Appointment", date=f"le{BEFORE_DST}")
    assert [a["id"] for a in entries(resource(up_to))] == mine

    await clinic.client.post(f"/api/appointments/{mine[0]}/cancel", headers=patient.headers)
    booked = await get(clinic, patient, "/Appointment", status="booked")
    assert [a["id"] for a in entries(resource(booked))] == [*mine[1:], after]
    either = await get(clinic, patient, "/Appointment", status="cancelled,noshow")
    assert [a["id"] for a in entries(resource(either))] == [mine[0]]

    for params in (
        {"date": "2027-02-30"},
        {"date": "2027-03-01T10:00:00"},  # no offset
        {"status": "unknown"},
        {"patient": f"Practitioner/{patient.patient_id}"},
        {"_count": "0"},
    ):
        assert outcome(await get(clinic, patient, "/Appointment", **params), 422), params


async def test_objects_the_caller_may_not_see_are_404_outcomes(berlin: ApiClinic) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor, other_doctor = await clinic.doctor(admin), await clinic.doctor(admin)
    patient, other_patient = await clinic.patient(), await clinic.patient()
    booked = (await clinic.book(patient, doctor, at(BEFORE_DST, 10, zone=ZONE))).json()
    unknown = "00000000-0000-4000-8000-000000000000"
    for who in (other_patient, other_doctor):
        for path in (f"/Appointment/{booked['id']}", f"/Patient/{patient.patient_id}"):
            hidden = await get(clinic, who, path)
            missing = await get(clinic, who, path.rsplit("/", 1)[0] + f"/{unknown}")
            assert outcome(hidden, 404) == outcome(missing, 404) == "not_found"
            assert hidden.json() == missing.json()
    refused = await get(clinic, None, f"/Appointment/{booked['id']}")
    assert outcome(refused, 401) == "not_authenticated"
    assert refused.headers["www-authenticate"] == "Bearer"
    assert outcome(await clinic.client.get(f"{FHIR}/Nothing"), 404) == "not_found"


async def test_schedule_and_slots_agree_with_rest_availability(berlin: ApiClinic) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    await clinic.book(patient, doctor, at(AFTER_DST, 10, zone=ZONE))
    schedules = resource(
        await get(clinic, patient, "/Schedule", actor=f"Practitioner/{doctor.doctor_id}")
    )
    [schedule] = entries(schedules)
    assert schedule["id"] == doctor.doctor_id

    for first, last in ((BEFORE_DST, AFTER_DST), (AFTER_DST, AFTER_DST)):
        rest = await clinic.client.get(
            f"/api/doctors/{doctor.doctor_id}/availability",
            params={"date_from": str(first), "date_to": str(last)},
            headers=patient.headers,
        )
        assert rest.status_code == 200, rest.text
        slots = await clinic.client.get(
            f"{FHIR}/Slot",
            params=[
                ("schedule", f"Schedule/{schedule['id']}"),
                ("start", f"ge{first}"),
                ("start", f"le{last}"),
            ],
            headers=patient.headers,
        )
        found = entries(resource(slots))
        expected = [
            (datetime.fromisoformat(s["starts_at"]), datetime.fromisoformat(s["ends_at"]))
            for s in rest.json()["slots"]
        ]
        assert expected, "the doctor works these days"
        assert [
            (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in found
        ] == expected
    # Berlin's 09:00 is 07:00 UTC after the change (08:00 UTC before it).
    assert expected[0][0] == datetime(2027, 3, 29, 7, tzinfo=UTC)
    too_long = await clinic.client.get(
        f"{FHIR}/Slot",
        params=[
            ("schedule", f"Schedule/{doctor.doctor_id}"),
            ("start", "ge2027-03-01"),
            ("start", "lt2027-06-01"),
        ],
        headers=patient.headers,
    )
    assert outcome(too_long, 422) == "range_too_long"
