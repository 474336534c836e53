"""The Mailer over SMTP (aiosmtplib): one connection per message, since messages are few
and a long-lived connection would need its own reconnect logic.

`smtp://[user:pass@]host:port` upgrades with STARTTLS when the server offers it;
`smtps://...` speaks TLS from the first byte. Errors never carry the recipient's address or
a credential: DeliveryFailed messages end up in logs and in the delivery log.
"""

from __future__ import annotations

import asyncio
import email.message
import email.utils
import errno
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from appointments.application.errors import DeliveryFailed
from appointments.domain.notifications import EmailMessage

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """SMTP_URL, parsed. `repr` hides the password."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        user = f"{self.username}:***@" if self.username is not None else ""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"SmtpTarget({scheme}://{user}{self.host}:{self.port})"


def parse_smtp_url(url: str) -> SmtpTarget:
    """ValueError for anything but smtp:// or smtps:// with a host. No message quotes the
    URL: it may hold a password (and a stray '#' or '?' in one moves it into the 'port')."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("SMTP_URL is malformed (is its port a number?)") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError(
            "SMTP_URL needs a host (percent-encode any '@', ':', '/', '?' or '#' in the "
            "user name or password)"
        )
    return SmtpTarget(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        implicit_tls=scheme == "smtps",
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def _mail_domain(mail_from: str) -> str:
    _, address = email.utils.parseaddr(mail_from)
    local, at, domain = address.rpartition("@")
    if not (local and at and domain):
        raise ValueError("MAIL_FROM must be an email address, e.g. appointments@clinic.example")
    return domain


def _describe(error: Exception) -> str:
    """The error's class (and its cause's), SMTP code, TLS reason or errno name: enough to
    act on, nothing personal (a server's reply text often quotes the address it refused)."""
    cause = error.__cause__ if isinstance(error.__cause__, Exception) else None
    details = [type(error).__name__ + (f" from {type(cause).__name__}" if cause else "")]
    code = getattr(error, "code", None)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        code = error.recipients[0].code
    if isinstance(code, int):
        details.append(f"SMTP {code}")
    for reason in (error, cause):
        if isinstance(reason, ssl.SSLError):  # its errno is OpenSSL's, not the OS's
            details.append(str(reason.reason or "TLS error"))
            break
        number = reason.errno if isinstance(reason, OSError) else None
        if number is not None and number in errno.errorcode:
            details.append(errno.errorcode[number])
            break
    return "SMTP delivery failed: " + ", ".join(details)


def _start_tls(target: SmtpTarget) -> bool | None:
    """Never after implicit TLS; required when there are credentials to send (a server
    that does not offer it, or a man in the middle stripping it, must not get them in
    plain text); otherwise when the server offers it (None)."""
    if target.implicit_tls:
        return False
    return True if target.username is not None else None


class SmtpMailer:
    """Mailer: hands each message to the server of SMTP_URL. `timeout` bounds the whole
    exchange (connect, TLS, AUTH, DATA), not just each step."""

    def __init__(
        self,
        url: str,
        mail_from: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._target = parse_smtp_url(url)
        self._from = mail_from
        self._sender = email.utils.parseaddr(mail_from)[1]
        self.mail_domain = _mail_domain(mail_from)
        self._timeout = timeout
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpMailer({self._target!r})"

    def build(self, message: EmailMessage) -> email.message.EmailMessage:
        """The MIME message: plain text with an HTML alternative."""
        mime = email.message.EmailMessage()
        mime["From"] = self._from
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Message-ID"] = message.message_id
        mime["Date"] = email.utils.formatdate(usegmt=True)
        for name, value in message.headers.items():
            mime[name] = value
        mime.set_content(message.text)
        mime.add_alternative(message.html, subtype="html")
        return mime

    async def send(self, message: EmailMessage) -> None:
        target = self._target
        try:
            mime = self.build(message)
        except ValueError:  # a line break in a header: the stdlib refuses to send it
            raise DeliveryFailed("SMTP delivery failed: a header is malformed") from None
        try:
            async with asyncio.timeout(self._timeout):
                await aiosmtplib.send(
                    mime,
                    sender=self._sender,
                    recipients=[message.to],
                    hostname=target.host,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    timeout=self._timeout,
                    use_tls=target.implicit_tls,
                    start_tls=_start_tls(target),
                    tls_context=self._tls_context,
                )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # `from None`: the cause's text (and traceback) would name the recipient.
            raise DeliveryFailed(_describe(error)) from None
        except ValueError:  # aiosmtplib refuses an address that could inject SMTP commands
            raise DeliveryFailed("SMTP delivery failed: the address is malformed") from None
