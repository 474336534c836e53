from __future__ import annotations

import httpx

from tests.api.support import ApiClinic


async def test_health(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/health/ready")).status_code == 200


async def test_patient_books_a_slot_offered_by_availability(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    doctor = await clinic.doctor(admin)
    patient = await clinic.patient()
    day = clinic.next_working_day().date()
    offered = await clinic.client.get(
        f"/api/doctors/{doctor.doctor_id}/availability",
        params={"date_from": str(day), "date_to": str(day)},
        headers=patient.headers,
    )
    assert offered.status_code == 200, offered.text
    first = offered.json()["slots"][0]
    booked = await clinic.client.post(
        "/api/appointments",
        json={"doctor_id": doctor.doctor_id, "starts_at": first["starts_at"]},
        headers=patient.headers,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "scheduled"
    assert booked.json()["patient_id"] == patient.patient_id
