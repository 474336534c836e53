"""The outbox end to end, on PostgreSQL with real processes: `appointments serve` (the
dispatcher inline) and `appointments worker`, a real webhook receiver and a real SMTP
server on loopback.

1. Two multi-worker servers on one database deliver every event's webhook and email
   exactly once, signed, each attempt recorded in the deliveries log.
2. A worker killed mid-delivery: its claim runs out and a second worker delivers; the
   receiver sees the same `webhook-id` at most twice (the documented at-least-once window).
3. A booking refused (409) leaves no outbox row and sends nothing.

Every wait is bounded and every process is stopped in `finally`.
"""

from __future__ import annotations

import asyncio
import email.utils
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook

from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.tables import deliveries, outbox_messages
from appointments.application.outbox import TIME_FREED
from tests.api.support import PASSWORD, bearer
from tests.api.test_booking_race import (
    APP,
    _free_port,
    _server_env,
    _wait_until_healthy,
    create_admin,
    stop_server,
)
from tests.conftest import clean
from tests.smtp_server import SmtpServer, smtp_server
from tests.webhook_receiver import Received, WebhookReceiver, webhook_receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DELIVERY_TIMEOUT = 60.0  # seconds for every expected webhook and email to arrive
SETTLE_SECONDS = 2.0  # then this much longer, for any duplicate to show up
POLL = "0.2"
MAIL_FROM = "clinic@clinic.example"
# Settings a developer's shell might hold; each test sets the ones it means.
_DISPATCH_VARIABLES = (
    "DISPATCHER",
    "DISPATCH_POLL_SECONDS",
    "DISPATCH_LEASE_SECONDS",
    "WEBHOOK_RETRY_SECONDS",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
    "SMTP_URL",
    "MAIL_FROM",
)


# --- processes --------------------------------------------------------------------------


def _env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in _server_env(database_url).items() if k not in _DISPATCH_VARIABLES}
    env.update(DISPATCH_POLL_SECONDS=POLL, WEBHOOK_ALLOW_PRIVATE_NETWORKS="true", **settings)
    return env


class Processes:
    """The processes a test started, each logging to its own file; all stopped at the end
    (SIGTERM, then the whole group killed if it lingers) and their log tails printed."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._started: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = self._directory / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(APP), *args],
                env=dict(env),
                cwd=self._directory,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._started.append((name, process, log))
        return process

    def serve(self, name: str, env: Mapping[str, str], workers: int = 2) -> str:
        port = _free_port()
        self.start(
            name,
            ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env,
        )
        return f"http://127.0.0.1:{port}"

    def log(self, name: str) -> str:
        return (self._directory / f"{name}.log").read_text(errors="replace")

    async def stop_all(self) -> None:
        # In a thread: the receiver and SMTP server on this loop keep answering while an
        # inline dispatcher finishes the attempt it has under way.
        for _, process, _ in self._started:
            if process.poll() is None:
                await asyncio.to_thread(stop_server, process)
        for name, process, log in self._started:
            tail = log.read_text(errors="replace")[-1500:]
            print(f"\n--- {name} (exit {process.returncode}) ---\n{tail}")


@asynccontextmanager
async def processes(directory: Path) -> AsyncIterator[Processes]:
    started = Processes(directory)
    try:
        yield started
    finally:
        await started.stop_all()


@contextmanager
def timed(label: str, timings: dict[str, float]) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[label] = round(time.monotonic() - started, 2)


# --- the database -----------------------------------------------------------------------


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """The served database, emptied first (the tests here share one per session)."""
    engine = create_engine(postgres_url)
    try:
        await clean(engine)
        yield engine
    finally:
        await engine.dispose()


async def _count(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


def _outbox_rows(event_type: str | None = None) -> Any:
    """Outbox rows that leave the building (or those of `event_type`: `time.freed`, the
    internal one a cancellation adds for the waitlist)."""
    rows = select(func.count()).select_from(outbox_messages)
    if event_type is None:
        return rows.where(outbox_messages.c.event_type != TIME_FREED)
    return rows.where(outbox_messages.c.event_type == event_type)


# --- the API ----------------------------------------------------------------------------


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200, 201)), response.text
    return dict(response.json())


class Clinic:
    """The HTTP API of one served database, through any of its servers."""

    def __init__(self, clients: list[httpx.AsyncClient], tag: str) -> None:
        self.clients, self.tag = clients, tag
        self._numbers = iter(range(1, 1_000_000))

    def via(self, n: int) -> httpx.AsyncClient:
        return self.clients[n % len(self.clients)]

    async def login(self, username: str, via: int = 0) -> dict[str, str]:
        answer = await self.via(via).post(
            "/api/auth/login", data={"username": username, "password": PASSWORD}
        )
        return bearer(str(_ok(answer)["access_token"]))

    async def admin(self, env: dict[str, str]) -> dict[str, str]:
        username = f"admin{self.tag}"
        await create_admin(env, username)
        return await self.login(username)

    async def doctor(self, admin: dict[str, str]) -> str:
        """A new doctor (the default schedule: Monday to Friday, 09:00-17:00 UTC)."""
        n = next(self._numbers)
        department = _ok(
            await self.via(n).post(
                "/api/departments", json={"name": f"Dept {self.tag} {n}"}, headers=admin
            )
        )
        username = f"doc{self.tag}n{n}"
        doctor = _ok(
            await self.via(n).post(
                "/api/doctors",
                json={
                    "email": f"{username}@example.com",
                    "username": username,
                    "full_name": f"Dr {n}",
                    "password": PASSWORD,
                    "department_id": department["id"],
                    "specialization": "General practice",
                },
                headers=admin,
            )
        )
        return str(doctor["id"])

    async def patient(self, n: int) -> tuple[dict[str, str], str]:
        """A registered patient (through server n) and their email address."""
        username = f"pat{self.tag}n{n}"
        address = f"{username}@example.com"
        _ok(
            await self.via(n).post(
                "/api/auth/register",
                json={
                    "email": address,
                    "username": username,
                    "full_name": f"Patient {n}",
                    "password": PASSWORD,
                },
            )
        )
        return await self.login(username, via=n), address

    async def webhook(self, admin: dict[str, str], url: str) -> tuple[str, str]:
        created = _ok(
            await self.via(0).post("/api/admin/webhooks", json={"url": url}, headers=admin), 201
        )
        return str(created["id"]), str(created["secret"])

    async def book(
        self, n: int, headers: dict[str, str], doctor_id: str, starts_at: datetime
    ) -> httpx.Response:
        return await self.via(n).post(
            "/api/appointments",
            json={
                "doctor_id": doctor_id,
                "starts_at": starts_at.isoformat(),
                "duration_minutes": 30,
            },
            headers=headers,
        )

    async def deliveries(self, admin: dict[str, str], webhook_id: str) -> list[dict[str, Any]]:
        page = _ok(
            await self.via(0).get(
                f"/api/admin/webhooks/{webhook_id}/deliveries",
                params={"limit": 100},
                headers=admin,
            )
        )
        assert page["total"] == len(page["items"]), "more deliveries than one page"
        return list(page["items"])


@asynccontextmanager
async def clinic_over(base_urls: list[str]) -> AsyncIterator[Clinic]:
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    clients = [httpx.AsyncClient(base_url=url, timeout=30, limits=limits) for url in base_urls]
    try:
        for client in clients:
            await _wait_until_healthy(client, 60)
        yield Clinic(clients, uuid.uuid4().hex[:8])
    finally:
        for client in clients:
            await client.aclose()


def _working_day(days_ahead: int) -> datetime:
    """Midnight UTC of the first Monday-Friday at least `days_ahead` days from today."""
    day = datetime.now(UTC).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def _wait_until(what: str, check: Any, timeout: float) -> Any:
    """Poll `check()` (async) until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    pytest.fail(f"{what}: not within {timeout} s (last seen: {last!r})")


def _verified(request: Received, secret: str) -> dict[str, Any]:
    """The payload, once the signature checks out (Standard Webhooks' own library)."""
    return dict(Webhook(secret).verify(request.body, request.headers))


async def _wait_for_mail(smtp: SmtpServer, count: int, timeout: float) -> None:
    try:
        await smtp.wait_for(count, timeout)
    except TimeoutError:
        pytest.fail(f"expected {count} emails within {timeout} s, got {len(smtp.received)}")


# --- 1. two servers, every event once ---------------------------------------------------


BOOKINGS = 20
CANCELLATIONS = 5


async def test_two_servers_deliver_each_event_and_email_exactly_once(
    db: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    with smtp_server() as smtp:
        async with webhook_receiver() as receiver, processes(tmp_path) as running:
            env = _env(postgres_url, DISPATCHER="inline", SMTP_URL=smtp.url(), MAIL_FROM=MAIL_FROM)
            urls = [running.serve("serve-a", env), running.serve("serve-b", env)]
            async with clinic_over(urls) as clinic:
                await _exactly_once(clinic, env, receiver, smtp, db, timings)
    print(f"\nexactly-once on 2 servers x 2 workers: {timings}")


async def _exactly_once(
    clinic: Clinic,
    env: dict[str, str],
    receiver: WebhookReceiver,
    smtp: SmtpServer,
    db: AsyncEngine,
    timings: dict[str, float],
) -> None:
    admin = await clinic.admin(env)
    webhook_id, secret = await clinic.webhook(admin, receiver.url)
    doctors = [await clinic.doctor(admin), await clinic.doctor(admin)]
    patients = await asyncio.gather(*(clinic.patient(n) for n in range(BOOKINGS)))
    # Three working days ahead: the 24-hour reminder of the default policy is due in
    # two days at the earliest, so none may be sent during this test.
    day = _working_day(3)

    def slot(n: int) -> datetime:
        return day + timedelta(hours=9, minutes=30 * (n // 2))

    with timed("book", timings):
        booked = await asyncio.gather(
            *(
                clinic.book(n, patients[n][0], doctors[n % 2], slot(n))
                for n in range(BOOKINGS)  # patient n through server n % 2
            )
        )
    appointments = [str(_ok(answer, 201)["id"]) for answer in booked]
    address_of = {appointments[n]: patients[n][1] for n in range(BOOKINGS)}

    # The booked emails first: a cancellation before its "booked" email went out would
    # (rightly) skip that email, and the count below would not be deterministic.
    with timed("deliver bookings", timings):
        await receiver.wait_for(BOOKINGS, DELIVERY_TIMEOUT)
        await _wait_for_mail(smtp, BOOKINGS, DELIVERY_TIMEOUT)

    cancelled = appointments[:CANCELLATIONS]
    with timed("cancel", timings):
        answers = await asyncio.gather(
            *(
                clinic.via(n).post(
                    f"/api/appointments/{appointments[n]}/cancel", headers=patients[n][0]
                )
                for n in range(CANCELLATIONS)
            )
        )
    for answer in answers:
        assert _ok(answer)["status"] == "cancelled"

    events = BOOKINGS + CANCELLATIONS
    with timed("deliver cancellations", timings):
        await receiver.wait_for(events, DELIVERY_TIMEOUT)
        await _wait_for_mail(smtp, events, DELIVERY_TIMEOUT)
    await asyncio.sleep(SETTLE_SECONDS)

    # Webhooks: each event once, every one signed with the endpoint's secret.
    requests = list(receiver.requests)
    ids = Counter(r.headers["webhook-id"] for r in requests)
    assert len(requests) == events, ids
    assert all(count == 1 for count in ids.values()), ids
    payloads = [_verified(r, secret) for r in requests]
    sent = Counter((p["data"]["appointment"]["id"], p["type"]) for p in payloads)
    expected_events = Counter({(a, "appointment.booked"): 1 for a in appointments}) + Counter(
        {(a, "appointment.cancelled"): 1 for a in cancelled}
    )
    assert sent == expected_events

    # Email: each (appointment, kind) once, to that patient; no reminder yet.
    mails = list(smtp.received)
    assert len(mails) == events
    kinds: Counter[tuple[str, str]] = Counter()
    for mail in mails:
        appointment = str(mail.message["X-Appointment-Id"])
        subject = str(mail.message["Subject"])
        kind = subject.split(":")[0]
        kinds[(appointment, kind)] += 1
        assert mail.rcpt_tos == (address_of[appointment],)
        assert email.utils.parseaddr(mail.mail_from)[1] == MAIL_FROM
        assert f"<{appointment}." in str(mail.message["Message-ID"])
    expected_mail = Counter({(a, "Appointment booked"): 1 for a in appointments}) + Counter(
        {(a, "Appointment cancelled"): 1 for a in cancelled}
    )
    assert kinds == expected_mail
    assert len({str(m.message["Message-ID"]) for m in mails}) == events

    # The reminders are planned, one per booking, not yet due and never attempted.
    reminders = select(func.count()).where(
        deliveries.c.channel == "email",
        deliveries.c.email_key.like("reminder_%"),
        deliveries.c.status == "pending",
        deliveries.c.attempts == 0,
        deliveries.c.next_attempt_at > datetime.now(UTC) + timedelta(hours=12),
    )
    assert await _count(db, reminders) == BOOKINGS

    # The deliveries log: every one delivered at its first attempt.
    log = await clinic.deliveries(admin, webhook_id)
    assert {d["event_id"] for d in log} == set(ids)
    assert len(log) == events
    for delivery in log:
        assert delivery["status"] == "delivered", delivery
        assert delivery["attempts"] == 1, delivery
        assert delivery["last_status_code"] == 204, delivery
        assert delivery["last_error"] is None, delivery
        assert delivery["delivered_at"] is not None, delivery
    assert await _count(db, _outbox_rows()) == events
    assert await _count(db, _outbox_rows(TIME_FREED)) == CANCELLATIONS


# --- 2. a worker dies mid-delivery --------------------------------------------------------


LEASE_SECONDS = 2
STUCK_SECONDS = 30.0  # the first attempt's answer: long after the worker is gone


async def test_a_killed_worker_leaves_its_delivery_to_another(
    db: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    async with webhook_receiver() as receiver, processes(tmp_path) as running:
        receiver.respond(204, delay=STUCK_SECONDS)  # then the default: 204 at once
        api_env = _env(postgres_url, DISPATCHER="off")
        worker_env = _env(postgres_url, DISPATCHER="off", DISPATCH_LEASE_SECONDS=str(LEASE_SECONDS))
        url = running.serve("serve", api_env)
        first = running.start("worker-1", ["worker"], worker_env)
        async with clinic_over([url]) as clinic:
            admin = await clinic.admin(api_env)
            webhook_id, secret = await clinic.webhook(admin, receiver.url)
            doctor = await clinic.doctor(admin)
            patient, _ = await clinic.patient(0)
            answer = await clinic.book(0, patient, doctor, _working_day(3) + timedelta(hours=10))
            appointment = _ok(answer, 201)["id"]

            with timed("first attempt arrives", timings):
                [stuck] = await receiver.wait_for(1, DELIVERY_TIMEOUT)
            assert first.poll() is None, running.log("worker-1")
            first.kill()  # SIGKILL: no graceful anything, the outcome is never stored
            await asyncio.to_thread(first.wait, 10)
            assert first.returncode == -signal.SIGKILL
            [pending] = await clinic.deliveries(admin, webhook_id)
            assert pending["status"] == "pending"
            assert pending["attempts"] == 0  # the dead worker's attempt left no outcome
            # ...but its claim, on a lease of DISPATCH_LEASE_SECONDS (not the default 120).
            async with db.connect() as connection:
                claim = (
                    await connection.execute(
                        select(deliveries.c.claim_token, deliveries.c.claimed_until)
                    )
                ).one()
            assert claim.claim_token is not None
            assert claim.claimed_until <= datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)

            second = running.start("worker-2", ["worker"], worker_env)
            with timed("retry by the second worker", timings):
                retried = await receiver.wait_for(2, DELIVERY_TIMEOUT)

            async def delivered() -> dict[str, Any] | None:
                [delivery] = await clinic.deliveries(admin, webhook_id)
                return delivery if delivery["status"] == "delivered" else None

            with timed("delivered in the log", timings):
                delivery = await _wait_until("delivered", delivered, DELIVERY_TIMEOUT)
            await asyncio.sleep(SETTLE_SECONDS)

            # At least once: the dead worker's attempt reached the receiver and the
            # second worker's retry did too, under the same webhook-id, which receivers
            # deduplicate on (the documented window). Never more than those two.
            same = [
                r
                for r in receiver.requests
                if r.headers["webhook-id"] == stuck.headers["webhook-id"]
            ]
            assert len(receiver.requests) == len(same) <= 2
            assert retried[1].headers["webhook-id"] == str(delivery["event_id"])
            for request in same:
                payload = _verified(request, secret)
                assert payload["type"] == "appointment.booked"
                assert payload["data"]["appointment"]["id"] == appointment
            assert delivery["attempts"] == 1, delivery  # only the stored attempt counts
            assert delivery["last_status_code"] == 204, delivery
            # The retry came once the dead worker's lease had run out, not before.
            gap = retried[1].monotonic - stuck.monotonic
            assert gap >= LEASE_SECONDS - 0.5, gap
            timings["gap between the attempts"] = round(gap, 2)

            # Graceful shutdown: SIGTERM, and the worker exits 0 within a few seconds.
            with timed("worker SIGTERM to exit", timings):
                second.terminate()
                try:
                    code = await asyncio.to_thread(second.wait, 10)
                except subprocess.TimeoutExpired:
                    pytest.fail("the worker did not stop within 10 s of SIGTERM")
            assert code == 0, running.log("worker-2")
            assert "worker stopped" in running.log("worker-2")
    assert await _count(db, _outbox_rows()) == 1
    print(f"\nkilled worker recovery (lease {LEASE_SECONDS} s): {timings}")


# --- 3. a refused booking sends nothing ---------------------------------------------------


RACERS = 10


async def test_a_refused_booking_leaves_no_outbox_row(
    db: AsyncEngine, postgres_url: str, tmp_path: Path
) -> None:
    async with webhook_receiver() as receiver, processes(tmp_path) as running:
        env = _env(postgres_url, DISPATCHER="inline")
        url = running.serve("serve", env)
        async with clinic_over([url]) as clinic:
            admin = await clinic.admin(env)
            await clinic.webhook(admin, receiver.url)
            doctor = await clinic.doctor(admin)
            patients = await asyncio.gather(*(clinic.patient(n) for n in range(RACERS + 1)))
            slot = _working_day(3) + timedelta(hours=11)

            first = await clinic.book(0, patients[0][0], doctor, slot)
            _ok(first, 201)
            await receiver.wait_for(1, DELIVERY_TIMEOUT)
            assert await _count(db, _outbox_rows()) == 1

            # Refused by the booking rules (the slot is seen taken)...
            overlap = await clinic.book(1, patients[1][0], doctor, slot + timedelta(minutes=15))
            assert overlap.status_code == 409, overlap.text
            assert overlap.json()["code"] == "doctor_unavailable"
            # ...and refused by the database (a race for a free slot on two workers,
            # where the losers' inserts hit the exclusion constraint and roll back).
            race_slot = slot + timedelta(hours=2)
            raced = await asyncio.gather(
                *(clinic.book(n, patients[n][0], doctor, race_slot) for n in range(1, RACERS + 1))
            )
            outcomes = Counter(
                (r.status_code, None if r.status_code == 201 else r.json().get("code"))
                for r in raced
            )
            assert outcomes == {(201, None): 1, (409, "doctor_unavailable"): RACERS - 1}

            await receiver.wait_for(2, DELIVERY_TIMEOUT)
            await asyncio.sleep(SETTLE_SECONDS)  # several polls: nothing else is sent
            assert await _count(db, _outbox_rows()) == 2
            payloads = [r.json() for r in receiver.requests]
            assert len(payloads) == 2, payloads
            assert [p["type"] for p in payloads] == ["appointment.booked"] * 2
            winners = {
                first.json()["id"],
                next(r for r in raced if r.status_code == 201).json()["id"],
            }
            assert {p["data"]["appointment"]["id"] for p in payloads} == winners
