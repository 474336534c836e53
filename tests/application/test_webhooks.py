"""Webhook endpoints: admins only; a URL is vetted by the real guard (on create and on a
changed URL) before anything is stored; the secret comes back once and never reaches
the audit trail, which records every change as webhook.created|updated|deleted."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from dependency_injector import providers

from appointments.adapters.network import ResolvingUrlGuard
from appointments.application.access import Actor
from appointments.application.errors import Forbidden
from appointments.application.events import AuditEvent, EventActor
from appointments.application.ports.queries import PageRequest
from appointments.application.webhooks import NewWebhook, WebhookChanges
from appointments.container import Container
from appointments.domain.audit import REDACTED, jsonable
from appointments.domain.errors import InvalidValue, NotFound, WebhookUrlNotAllowed
from appointments.domain.webhooks import WebhookEndpoint
from tests.application.conftest import NOW, Clinic

PUBLIC = "https://8.8.8.8/clinic-hooks"
LOCAL = "http://127.0.0.1:9000/hooks"


@pytest.fixture
def open_guard(container: Container) -> None:
    """Private networks allowed: the guard a lab deployment gets from its settings."""
    container.url_guard.override(providers.Object(ResolvingUrlGuard(allow_private_networks=True)))


async def create(
    clinic: Clinic, admin: Actor, url: str = PUBLIC, **extra: object
) -> WebhookEndpoint:
    return await clinic.c.create_webhook()(admin, NewWebhook(url, **extra))  # type: ignore[arg-type]


def events(clinic: Clinic, entity_id: UUID) -> list[AuditEvent]:
    return [e for e in clinic.state.audit_events if e.entity_id == entity_id]


def recorded(clinic: Clinic) -> str:
    return json.dumps([jsonable(e) for e in clinic.state.audit_events])


async def test_create_stores_and_returns_the_secret_once(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_once():
        endpoint = await create(
            clinic,
            admin,
            event_types=["appointment.booked", "appointment.cancelled"],
            description="Front desk",
        )
    assert endpoint == WebhookEndpoint(
        url=PUBLIC,
        created_at=NOW,
        event_types=("appointment.booked", "appointment.cancelled"),
        description="Front desk",
        secret=endpoint.secret,
        id=endpoint.id,
    )
    assert endpoint.is_active
    assert endpoint.secret.startswith("whsec_")
    assert clinic.state.webhook_endpoints == {endpoint.id: endpoint}

    [event] = events(clinic, endpoint.id)
    assert event.action == "webhook.created"
    assert event.entity_type == "webhook"
    assert event.actor == EventActor(admin.user_id, admin.role)
    assert event.changes["secret"] == {"old": None, "new": REDACTED}
    assert event.changes["url"] == {"old": None, "new": PUBLIC}
    assert endpoint.secret not in recorded(clinic)


@pytest.mark.parametrize(
    "url",
    [LOCAL, "http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/", "http://localhost/"],
)
async def test_the_strict_guard_refuses_internal_hosts(
    clinic: Clinic, admin: Actor, url: str
) -> None:
    with clinic.commits_nothing(), pytest.raises(WebhookUrlNotAllowed):
        await create(clinic, admin, url)


@pytest.mark.usefixtures("open_guard")
async def test_private_hosts_pass_when_allowed(clinic: Clinic, admin: Actor) -> None:
    endpoint = await create(clinic, admin, LOCAL)
    assert clinic.state.webhook_endpoints[endpoint.id].url == LOCAL
    with pytest.raises(WebhookUrlNotAllowed, match="does not resolve"):
        await create(clinic, admin, "http://nonexistent.invalid/")


@pytest.mark.usefixtures("open_guard")
@pytest.mark.parametrize("url", ["ftp://x", "https://user:pw@example.com/", "http:///nohost"])
async def test_malformed_urls_are_refused_whatever_the_setting(
    clinic: Clinic, admin: Actor, url: str
) -> None:
    with clinic.commits_nothing(), pytest.raises(WebhookUrlNotAllowed):
        await create(clinic, admin, url)


async def test_unknown_event_types_are_refused(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_nothing(), pytest.raises(InvalidValue, match=r"appointment\.moved"):
        await create(clinic, admin, event_types=["appointment.moved"])


async def test_list_and_get_never_change_anything(clinic: Clinic, admin: Actor) -> None:
    first = await create(clinic, admin)
    clinic.clock.advance(timedelta(minutes=1))
    second = await create(clinic, admin, "http://1.1.1.1/")
    with clinic.commits_nothing():
        page = await clinic.c.list_webhooks()(admin, PageRequest(limit=1))
        assert await clinic.c.get_webhook()(admin, second.id) == second
    assert (page.items, page.total) == ([first], 2)
    with pytest.raises(NotFound):
        await clinic.c.get_webhook()(admin, uuid4())


async def test_update_records_what_changed(clinic: Clinic, admin: Actor) -> None:
    endpoint = await create(clinic, admin)
    changes = WebhookChanges(
        url="https://1.1.1.1/v2",
        event_types=["waitlist.offered"],
        description="moved",
        is_active=False,
    )
    with clinic.commits_once():
        updated = await clinic.c.update_webhook()(admin, endpoint.id, changes)
    assert (updated.url, updated.event_types, updated.description, updated.is_active) == (
        "https://1.1.1.1/v2",
        ("waitlist.offered",),
        "moved",
        False,
    )
    assert updated.secret == endpoint.secret  # a PATCH never rotates it
    assert clinic.state.webhook_endpoints[endpoint.id] == updated
    event = events(clinic, endpoint.id)[-1]
    assert event.action == "webhook.updated"
    assert event.changes == {
        "url": {"old": PUBLIC, "new": "https://1.1.1.1/v2"},
        "event_types": {"old": [], "new": ["waitlist.offered"]},
        "description": {"old": None, "new": "moved"},
        "is_active": {"old": True, "new": False},
    }

    with clinic.commits_once():  # a non-change commits, and records nothing
        await clinic.c.update_webhook()(admin, endpoint.id, WebhookChanges(is_active=False))
    assert len(events(clinic, endpoint.id)) == 2


async def test_a_new_url_is_vetted_again(clinic: Clinic, admin: Actor) -> None:
    endpoint = await create(clinic, admin)
    for url in (LOCAL, "http://169.254.169.254/", "ftp://x"):
        with clinic.commits_nothing(), pytest.raises(WebhookUrlNotAllowed):
            await clinic.c.update_webhook()(admin, endpoint.id, WebhookChanges(url=url))
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.update_webhook()(admin, endpoint.id, WebhookChanges(event_types=["nope"]))
    with pytest.raises(NotFound):
        await clinic.c.update_webhook()(admin, uuid4(), WebhookChanges(is_active=False))


async def test_delete_removes_it_and_records_it(clinic: Clinic, admin: Actor) -> None:
    endpoint = await create(clinic, admin)
    with clinic.commits_once():
        await clinic.c.delete_webhook()(admin, endpoint.id)
    assert clinic.state.webhook_endpoints == {}
    event = events(clinic, endpoint.id)[-1]
    assert event.action == "webhook.deleted"
    assert event.changes["secret"] == {"old": REDACTED, "new": None}
    assert event.changes["url"] == {"old": PUBLIC, "new": None}
    with pytest.raises(NotFound):
        await clinic.c.delete_webhook()(admin, endpoint.id)
    assert endpoint.secret not in recorded(clinic)


Call = Callable[[Container, Actor, UUID], Awaitable[object]]
CALLS: dict[str, Call] = {
    "list": lambda c, a, _: c.list_webhooks()(a, PageRequest()),
    "get": lambda c, a, i: c.get_webhook()(a, i),
    "create": lambda c, a, _: c.create_webhook()(a, NewWebhook(PUBLIC)),
    "update": lambda c, a, i: c.update_webhook()(a, i, WebhookChanges(is_active=False)),
    "delete": lambda c, a, i: c.delete_webhook()(a, i),
}


@pytest.mark.parametrize("name", CALLS)
async def test_only_admins_may(clinic: Clinic, admin: Actor, name: str) -> None:
    endpoint = await create(clinic, admin)
    for actor in (await clinic.doctor(admin), await clinic.patient()):
        with clinic.commits_nothing(), pytest.raises(Forbidden):
            await CALLS[name](clinic.c, actor, endpoint.id)
