"""Calendar feeds end to end: every feed is parsed with `icalendar`, across a booking, a
reschedule, a cancellation and a daylight-saving change in a Berlin clinic."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.adapters.clock import FixedClock
from appointments.application.access import FeedScope
from appointments.application.ports.queries import PageRequest
from appointments.domain.calendar_feeds import FETCH_WINDOW, MAX_FETCHES_PER_WINDOW
from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic, Party, at, client_for, make_container

ZONE = "Europe/Berlin"
# Europe's clocks go forward on the last Sunday of March: 2027-03-28.
BEFORE_DST, AFTER_DST = date(2027, 3, 26), date(2027, 3, 29)


@pytest.fixture
async def berlin(
    database_url: str, engine: AsyncEngine, clock: FixedClock
) -> AsyncIterator[ApiClinic]:
    clock.at = datetime(2027, 3, 1, 8, tzinfo=UTC)
    container = make_container(
        database_url, engine, clock, clinic_timezone=ZONE, public_base_url="https://c.example"
    )
    async with client_for(create_app(container)) as client:
        yield ApiClinic(client, container, clock)


async def new_feed(clinic: ApiClinic, who: Party, body: Any = None) -> dict[str, Any]:
    response = await clinic.client.post("/api/calendar-feeds", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def path_of(feed: dict[str, Any]) -> str:
    return "/" + str(feed["url"]).split("/", 3)[3]


async def fetch(clinic: ApiClinic, feed: dict[str, Any], **headers: str) -> httpx.Response:
    return await clinic.client.get(path_of(feed), headers=headers)


def events(response: httpx.Response) -> dict[str, Any]:
    """The feed parsed with icalendar: its VEVENTs by UID."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["PRODID"]
    found = {}
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED"):
            assert event.decoded(name).utcoffset() == timedelta(0), name
        found[str(event["UID"])] = event
    # Times are written in UTC form (`...Z`), never with a TZID.
    assert b"TZID" not in response.content
    return found


async def test_a_patient_feed_follows_booking_move_and_cancellation_across_dst(
    berlin: ApiClinic,
) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    booked = await clinic.book(patient, doctor, at(BEFORE_DST, 10, zone=ZONE))
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    uid = f"{appointment['id']}@appointments"

    feed = await new_feed(clinic, patient)
    assert feed["owner_type"] == "patient"
    assert feed["owner_id"] == patient.patient_id
    assert feed["url"].startswith("https://c.example/calendar/")
    assert feed["url"].endswith(".ics")
    first = await fetch(clinic, feed)
    event = events(first)[uid]
    assert event.decoded("DTSTART") == datetime(2027, 3, 26, 9, tzinfo=UTC)  # UTC+1
    assert event.decoded("DTEND") == datetime(2027, 3, 26, 9, 30, tzinfo=UTC)
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(doctor.user["full_name"]) in str(event["SUMMARY"])
    assert str(patient.user["full_name"]) not in first.text
    tag = first.headers["etag"]
    assert (await fetch(clinic, feed)).headers["etag"] == tag  # same data, same bytes
    unchanged = await fetch(clinic, feed, **{"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    clinic.clock.advance(timedelta(minutes=5))
    moved = await clinic.client.patch(
        f"/api/appointments/{appointment['id']}",
        json={"starts_at": at(AFTER_DST, 10, zone=ZONE).isoformat()},
        headers=patient.headers,
    )
    assert moved.status_code == 200, moved.text
    second = await fetch(clinic, feed, **{"If-None-Match": tag})
    event = events(second)[uid]
    assert event.decoded("DTSTART") == datetime(2027, 3, 29, 8, tzinfo=UTC)  # UTC+2 now
    assert int(event["SEQUENCE"]) > 0
    assert event.decoded("LAST-MODIFIED") == clinic.clock.now()
    assert second.headers["etag"] != tag

    clinic.clock.advance(timedelta(minutes=5))
    cancelled = await clinic.client.post(
        f"/api/appointments/{appointment['id']}/cancel", headers=patient.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    third = events(await fetch(clinic, feed))
    assert set(third) == {uid}  # kept, so calendars remove it
    assert str(third[uid]["STATUS"]) == "CANCELLED"
    assert int(third[uid]["SEQUENCE"]) > int(event["SEQUENCE"])


async def test_feeds_show_only_their_owner_and_name_patients_only_to_the_doctor(
    berlin: ApiClinic,
) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor, other_doctor = await clinic.doctor(admin), await clinic.doctor(admin)
    patient, other_patient = await clinic.patient(), await clinic.patient()
    mine = (await clinic.book(patient, doctor, at(BEFORE_DST, 10, zone=ZONE))).json()
    theirs = (await clinic.book(other_patient, doctor, at(BEFORE_DST, 11, zone=ZONE))).json()
    elsewhere = (await clinic.book(patient, other_doctor, at(AFTER_DST, 9, zone=ZONE))).json()

    patient_feed = events(await fetch(clinic, await new_feed(clinic, patient)))
    assert set(patient_feed) == {f"{mine['id']}@appointments", f"{elsewhere['id']}@appointments"}
    doctor_feed_response = await fetch(clinic, await new_feed(clinic, doctor))
    doctor_feed = events(doctor_feed_response)
    assert set(doctor_feed) == {f"{mine['id']}@appointments", f"{theirs['id']}@appointments"}
    summary = str(doctor_feed[f"{theirs['id']}@appointments"]["SUMMARY"])
    assert str(other_patient.user["full_name"]) in summary
    # An admin's feed for the doctor is the doctor's calendar, names included.
    by_admin = await new_feed(clinic, admin, {"doctor_id": doctor.doctor_id})
    assert set(events(await fetch(clinic, by_admin))) == set(doctor_feed)


async def test_creating_listing_and_revoking_are_the_owners(berlin: ApiClinic) -> None:
    clinic = berlin
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient, other_patient = await clinic.patient(), await clinic.patient()
    feed = await new_feed(clinic, patient)
    post = clinic.client.post
    for who, body, status in [
        (other_patient, {"patient_id": patient.patient_id}, 404),
        (doctor, {"patient_id": patient.patient_id}, 403),
        (patient, {"doctor_id": doctor.doctor_id}, 403),
        (admin, None, 422),
        (admin, {"doctor_id": doctor.doctor_id, "patient_id": patient.patient_id}, 422),
    ]:
        response = await post("/api/calendar-feeds", json=body, headers=who.headers)
        assert response.status_code == status, (who.user["username"], body, response.text)
        assert "code" in response.json()
    listed = await clinic.client.get("/api/calendar-feeds", headers=other_patient.headers)
    assert listed.json()["items"] == []
    everyone = await clinic.client.get("/api/calendar-feeds", headers=admin.headers)
    assert [f["id"] for f in everyone.json()["items"]] == [feed["id"]]
    assert "url" not in everyone.json()["items"][0]

    path = f"/api/calendar-feeds/{feed['id']}"
    for who in (other_patient, doctor):
        refused = await clinic.client.delete(path, headers=who.headers)
        assert refused.status_code == 404, refused.text
    assert (await fetch(clinic, feed)).status_code == 200
    assert (await clinic.client.delete(path, headers=patient.headers)).status_code == 204
    gone = await fetch(clinic, feed)
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert (await clinic.client.delete(path, headers=patient.headers)).status_code == 404


async def test_unknown_malformed_and_deactivated_feeds_are_404(berlin: ApiClinic) -> None:
    clinic = berlin
    admin = await clinic.admin()
    patient = await clinic.patient()
    feed = await new_feed(clinic, patient)
    token = path_of(feed).removeprefix("/calendar/").removesuffix(".ics")
    assert len(token) >= 22  # >= 128 bits of base64url
    unknown = "A" * len(token)
    answers = []
    for probe in (unknown, "short", token[:-1] + ("B" if token[-1] != "B" else "C")):
        response = await clinic.client.get(f"/calendar/{probe}.ics")
        answers.append((response.status_code, response.json()))
    assert all(a == (404, {"detail": "Not found.", "code": "not_found"}) for a in answers)

    deactivated = await clinic.client.delete(
        f"/api/patients/{patient.patient_id}", headers=admin.headers
    )
    assert deactivated.status_code == 204
    assert (await fetch(clinic, feed)).status_code == 404


async def test_only_the_token_hash_is_stored_and_no_log_line_holds_the_token(
    berlin: ApiClinic, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = berlin
    patient = await clinic.patient()
    feed = await new_feed(clinic, patient)
    token = path_of(feed).removeprefix("/calendar/").removesuffix(".ics")
    with caplog.at_level(logging.INFO):
        assert (await fetch(clinic, feed)).status_code == 200
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("appointments")]
    assert any("/calendar/{token}.ics" in line for line in ours), ours
    assert not [line for line in ours if token in line]
    async with clinic.container.read_uow() as uow:
        stored = (await uow.calendar_feeds.search(FeedScope(everyone=True), PageRequest())).items
    assert [f.token_hash for f in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in repr(stored)


async def test_a_feed_fetched_too_often_is_throttled_for_a_while(berlin: ApiClinic) -> None:
    clinic = berlin
    patient = await clinic.patient()
    feed = await new_feed(clinic, patient)
    for _ in range(MAX_FETCHES_PER_WINDOW):
        assert (await fetch(clinic, feed)).status_code == 200
    refused = await fetch(clinic, feed)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["retry-after"]) <= FETCH_WINDOW.total_seconds() + 1
    clinic.clock.advance(FETCH_WINDOW)
    assert (await fetch(clinic, feed)).status_code == 200
