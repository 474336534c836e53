"""SmtpMailer against a real SMTP server (tests/smtp_server.py): plain, STARTTLS with AUTH,
implicit TLS; refusals, a server that is down or silent, and SMTP_URL parsing. No error
may carry the recipient's address or a credential."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from appointments.adapters.smtp import SmtpMailer, parse_smtp_url
from appointments.application.errors import DeliveryFailed
from appointments.domain.notifications import EmailKind, EmailMessage, compose_email
from tests.smtp_server import closed_port, smtp_server

FROM = "Clinic Appointments <appointments@clinic.example>"
PATIENT = "patient.person@example.com"
APPOINTMENT_ID = UUID("0b5c7a52-9f7e-4a1c-8d3e-6f2a1b0c9d8e")
STARTS = datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 in Berlin
USER = "mailer@clinic.example"
PASSWORD = "p@ss:w/rd#?%1"  # every character SMTP_URL needs percent-encoded


def message(kind: EmailKind = EmailKind.BOOKED, to: str = PATIENT) -> EmailMessage:
    return compose_email(
        kind=kind,
        offset_minutes=1440 if kind is EmailKind.REMINDER else None,
        to=to,
        appointment_id=APPOINTMENT_ID,
        starts_at=STARTS,
        ends_at=STARTS + timedelta(minutes=30),
        doctor_name="Dr Anna Weber",
        zone=ZoneInfo("Europe/Berlin"),
        mail_domain="clinic.example",
    )


def assert_private(error: BaseException, *secrets: str) -> None:
    """Neither the message nor a chained cause (shown in tracebacks) leaks anything."""
    text = str(error)
    for secret in (PATIENT, *secrets):
        assert secret not in text
    assert error.__cause__ is None
    assert error.__suppress_context__


async def test_plain_delivery_carries_headers_and_both_parts() -> None:
    with smtp_server() as server:
        mailer = SmtpMailer(server.url(), FROM)
        sent = message()
        await mailer.send(sent)
        [received] = await server.wait_for(1)
    assert mailer.mail_domain == "clinic.example"
    assert received.mail_from == "appointments@clinic.example"
    assert received.rcpt_tos == (PATIENT,)
    assert not received.tls
    mime = received.message
    assert mime["Subject"] == "Appointment booked: Sunday 29 March 2026, 09:00"
    assert mime["To"] == PATIENT
    assert mime["From"] == FROM
    assert mime["X-Appointment-Id"] == str(APPOINTMENT_ID)
    # aiosmtplib flattens with email.policy.SMTP (78 columns), which folds this long id
    # onto a continuation line (legal: RFC 5322 allows FWS before a msg-id); Python's
    # parser then keeps the leading blank.
    assert mime["Message-ID"].strip() == sent.message_id
    assert mime["Date"]
    assert mime.get_content_type() == "multipart/alternative"
    assert received.part("text/plain") == sent.text
    assert received.part("text/html") == sent.html


async def test_starttls_with_the_credentials_the_server_requires() -> None:
    with smtp_server(tls="starttls", username=USER, password=PASSWORD) as server:
        url = server.url(USER, PASSWORD)
        assert PASSWORD not in url  # percent-encoded
        mailer = SmtpMailer(url, FROM, tls_context=server.client_tls_context)
        await mailer.send(message(EmailKind.REMINDER))
        [received] = await server.wait_for(1)
    assert received.tls
    assert received.username == USER
    assert received.message["Subject"].startswith("Appointment reminder: ")


async def test_a_wrong_password_fails_without_showing_either() -> None:
    with smtp_server(tls="starttls", username=USER, password=PASSWORD) as server:
        mailer = SmtpMailer(
            server.url(USER, "not-the-password"), FROM, tls_context=server.client_tls_context
        )
        with pytest.raises(DeliveryFailed, match="SMTPAuthenticationError, SMTP 535") as caught:
            await mailer.send(message())
        assert server.received == []
    assert_private(caught.value, USER, PASSWORD, "not-the-password")


async def test_credentials_are_never_sent_without_tls() -> None:
    # The server offers AUTH in plain text and no STARTTLS (or someone stripped it).
    with smtp_server(tls="none", username=USER, password=PASSWORD) as server:
        mailer = SmtpMailer(server.url(USER, PASSWORD), FROM)
        with pytest.raises(DeliveryFailed, match="SMTPException") as caught:
            await mailer.send(message())
        assert server.received == []
    assert_private(caught.value, USER, PASSWORD)


async def test_no_credentials_for_a_server_that_requires_them() -> None:
    with smtp_server(tls="starttls", username=USER, password=PASSWORD) as server:
        mailer = SmtpMailer(server.url(), FROM, tls_context=server.client_tls_context)
        with pytest.raises(DeliveryFailed, match="SMTP 530"):
            await mailer.send(message())
        assert server.received == []


async def test_starttls_refuses_a_certificate_it_does_not_trust() -> None:
    with smtp_server(tls="starttls") as server:
        mailer = SmtpMailer(server.url(), FROM)  # the system's CAs: not the test CA
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await mailer.send(message())
        assert server.received == []
    assert_private(caught.value)


async def test_smtps_is_tls_from_the_first_byte() -> None:
    with smtp_server(tls="implicit", username=USER, password=PASSWORD) as server:
        url = server.url(USER, PASSWORD)
        assert url.startswith("smtps://")
        mailer = SmtpMailer(url, FROM, tls_context=server.client_tls_context)
        await mailer.send(message(EmailKind.CANCELLED))
        [received] = await server.wait_for(1)
    assert received.tls
    assert received.username == USER
    assert received.message["Subject"].startswith("Appointment cancelled: ")


async def test_a_refused_recipient_fails_without_the_address() -> None:
    with smtp_server(refuse={PATIENT}) as server:
        mailer = SmtpMailer(server.url(), FROM)
        with pytest.raises(DeliveryFailed, match="SMTP 550") as caught:
            await mailer.send(message())
        assert server.received == []
        # The server's own reply quoted the address; the error does not.
        server.refused.clear()
        await mailer.send(message())  # a retry once the server accepts it
        assert len(await server.wait_for(1)) == 1
    assert_private(caught.value)


async def test_a_temporary_refusal_is_a_delivery_failure_too() -> None:
    with (
        smtp_server(refuse_all=True, refuse_code=451) as server,
        pytest.raises(DeliveryFailed, match="SMTP 451") as caught,
    ):
        await SmtpMailer(server.url(), FROM).send(message())
    assert_private(caught.value)


@pytest.mark.parametrize(
    ("to", "problem"),
    [
        ("patient person@example.com", "address is malformed"),
        ("patient@example.com\r\nBcc: x@example.com", "header is malformed"),
    ],
)
async def test_a_malformed_address_fails_without_quoting_it(to: str, problem: str) -> None:
    with smtp_server() as server:
        with pytest.raises(DeliveryFailed, match=problem) as caught:
            await SmtpMailer(server.url(), FROM).send(message(to=to))
        assert server.received == []
    assert_private(caught.value, "patient")


async def test_a_server_that_is_down() -> None:
    mailer = SmtpMailer(f"smtp://{USER}:secret@127.0.0.1:{closed_port()}", FROM, timeout=5)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="ECONNREFUSED") as caught:
        await mailer.send(message())
    assert time.monotonic() - started < 5
    assert_private(caught.value, "secret")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never says hello."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


async def test_a_silent_server_times_out(silent_port: int) -> None:
    mailer = SmtpMailer(f"smtp://127.0.0.1:{silent_port}", FROM, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="Timeout"):
        await mailer.send(message())
    assert time.monotonic() - started < 3


# --- SMTP_URL -------------------------------------------------------------------------


def test_url_parts_are_percent_decoded_and_ports_default() -> None:
    target = parse_smtp_url("smtp://us%40er:p%40ss%3Aw%2Frd%23@mail.example")
    assert (target.host, target.port, target.implicit_tls) == ("mail.example", 25, False)
    assert (target.username, target.password) == ("us@er", "p@ss:w/rd#")
    assert "p@ss" not in repr(target)
    implicit = parse_smtp_url("SMTPS://mail.example")
    assert (implicit.port, implicit.implicit_tls, implicit.username) == (465, True, None)
    assert parse_smtp_url("smtp://mail.example:2525").port == 2525


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:hunter2@mail.example", "smtp:// or smtps://"),
        ("mail.example:25", "smtp:// or smtps://"),
        ("smtp://user:hunter2@:25", "needs a host"),
        ("smtp://user:hunter2@mail.example:port", "malformed"),
        ("smtp://user:hunter2@mail.example:99999", "malformed"),
        ("smtp://user:hun#ter2@mail.example:25", "malformed"),  # an unencoded '#'
    ],
)
def test_a_bad_url_is_refused_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        SmtpMailer(url, FROM)
    assert "hunter2" not in str(caught.value)
    assert "ter2" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


@pytest.mark.parametrize("mail_from", ["", "appointments", "@clinic.example", "Clinic <x@>"])
def test_mail_from_must_be_an_address(mail_from: str) -> None:
    with pytest.raises(ValueError, match="MAIL_FROM"):
        SmtpMailer("smtp://mail.example", mail_from)


def test_the_mailer_repr_hides_the_password() -> None:
    assert "hunter2" not in repr(SmtpMailer("smtp://user:hunter2@mail.example", FROM))
