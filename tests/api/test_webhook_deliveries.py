"""Webhook delivery through the real app on SQLite and PostgreSQL: a booking made over
HTTP is delivered by the dispatcher to a real receiver on loopback, signed so that the
standardwebhooks library verifies it (timestamp tolerance included: this clock is the
real time), and the endpoint's delivery log shows it. The log is the admin's alone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from appointments.container import Container
from appointments.entrypoints.api.app import create_app
from tests.api.support import ApiClinic, Party, client_for, make_container
from tests.webhook_receiver import WebhookReceiver, webhook_receiver

PATH = "/api/admin/webhooks"
DELIVERY_FIELDS = {
    "id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "delivered_at",
    "created_at",
}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def delivering(database_url: str, engine: AsyncEngine, clinic: ApiClinic) -> Container:
    """The clinic's database, with loopback receivers allowed."""
    return make_container(database_url, engine, clinic.clock, webhook_allow_private_networks=True)


async def booking(clinic: ApiClinic, admin: Party) -> str:
    doctor, patient = await clinic.doctor(admin), await clinic.patient()
    response = await clinic.book(patient, doctor, clinic.next_working_day(days_ahead=2))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_booking_is_delivered_signed_and_logged(
    clinic: ApiClinic, delivering: Container, receiver: WebhookReceiver
) -> None:
    admin = await clinic.admin()
    async with client_for(create_app(delivering)) as client:
        created = await client.post(PATH, json={"url": receiver.url}, headers=admin.headers)
        assert created.status_code == 201, created.text
        hook = created.json()
        appointment_id = await booking(clinic, admin)
        assert await delivering.dispatcher().run_once() >= 2  # one message, one delivery
        [request] = await receiver.wait_for(1)
        payload = Webhook(hook["secret"]).verify(request.body, request.headers)
        assert payload["type"] == "appointment.booked"
        assert payload["data"]["appointment"]["id"] == appointment_id
        assert payload["data"]["appointment"]["status"] == "scheduled"

        log = await client.get(f"{PATH}/{hook['id']}/deliveries", headers=admin.headers)
    assert log.status_code == 200, log.text
    page = log.json()
    assert page["total"] == 1
    [entry] = page["items"]
    assert set(entry) == DELIVERY_FIELDS
    assert entry["event_id"] == request.headers["webhook-id"]
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("delivered", 1, 204)
    assert entry["delivered_at"] is not None
    await delivering.webhook_sender().aclose()


async def test_the_log_pages_newest_first(
    clinic: ApiClinic, delivering: Container, receiver: WebhookReceiver
) -> None:
    admin = await clinic.admin()
    async with client_for(create_app(delivering)) as client:
        hook = (await client.post(PATH, json={"url": receiver.url}, headers=admin.headers)).json()
        for _ in range(3):
            await booking(clinic, admin)
            clinic.clock.advance(timedelta(seconds=1))
        await delivering.dispatcher().run_once()
        await receiver.wait_for(3)
        first = await client.get(
            f"{PATH}/{hook['id']}/deliveries", params={"limit": 2}, headers=admin.headers
        )
        rest = await client.get(
            f"{PATH}/{hook['id']}/deliveries",
            params={"limit": 2, "offset": 2},
            headers=admin.headers,
        )
    items = first.json()["items"] + rest.json()["items"]
    assert first.json()["total"] == 3
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True)
    assert len({i["event_id"] for i in items}) == 3
    await delivering.webhook_sender().aclose()


async def test_the_log_of_an_unknown_endpoint_is_404(clinic: ApiClinic) -> None:
    admin = await clinic.admin()
    response = await clinic.client.get(f"{PATH}/{uuid.uuid4()}/deliveries", headers=admin.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_only_admins_read_the_log(clinic: ApiClinic) -> None:
    admin, patient = await clinic.admin(), await clinic.patient()
    doctor = await clinic.doctor(admin)
    hook = (
        await clinic.client.post(PATH, json={"url": "https://8.8.8.8/hooks"}, headers=admin.headers)
    ).json()
    for party in (doctor, patient):
        response = await clinic.client.get(f"{PATH}/{hook['id']}/deliveries", headers=party.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
