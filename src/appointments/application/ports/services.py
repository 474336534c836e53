"""Services the use-cases call: password hashing, tokens, the clock and the webhook URL
guard, and the outbound webhook sender and mailer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol
from uuid import UUID

from appointments.domain.notifications import EmailMessage
from appointments.domain.users import Role, User


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one should be upgraded). A None hash runs a
        dummy verification so unknown users take as long as known ones."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: UUID
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime


class TokenService(Protocol):
    def issue(self, user: User, now: datetime) -> IssuedToken: ...

    def decode(self, token: str) -> TokenClaims:
        """Raises NotAuthenticated for anything but a valid, unexpired token of ours."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


@dataclass(frozen=True, slots=True)
class VettedUrl:
    """A webhook URL whose host resolved to `addresses`, every one of them allowed: a
    delivery connects to one of these (not to a second lookup an attacker could answer
    differently) and sends `host` as the Host header."""

    url: str
    host: str
    port: int
    addresses: tuple[IPv4Address | IPv6Address, ...]


class UrlGuard(Protocol):
    async def check(self, url: str) -> VettedUrl:
        """Refuse (WebhookUrlNotAllowed) a URL the domain refuses, one whose host does not
        resolve, or one whose host resolves to ANY loopback, private, link-local,
        multicast, reserved or unspecified address (unless the clinic allows private
        networks). Called on create and on a changed URL, and by the dispatcher before
        each delivery, since a name can resolve elsewhere later (DNS rebinding)."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One signed delivery attempt, ready to POST."""

    target: VettedUrl
    headers: dict[str, str]
    body: bytes


class WebhookSender(Protocol):
    async def post(self, request: WebhookRequest) -> int:
        """POST to one of the vetted addresses (never a second DNS lookup), without
        following redirects, within the delivery timeout; the response's status code.
        Raises DeliveryFailed for a timeout, a refused connection or a TLS error."""


class Mailer(Protocol):
    # The domain of MAIL_FROM, which Message-IDs are made in.
    mail_domain: str

    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the SMTP server; DeliveryFailed if it was not accepted."""
