"""Registration, login (with its throttle), token authentication, logout, password change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from uuid import uuid4

import pytest
from dependency_injector import providers

from appointments.application.access import Actor
from appointments.application.errors import (
    InvalidCredentials,
    NotAuthenticated,
    TooManyAttempts,
    WrongCurrentPassword,
)
from appointments.application.ports.services import PasswordHasher
from appointments.application.users import NewUser, PatientDetails
from appointments.domain.errors import DomainError, EmailTaken, InvalidValue, UsernameTaken
from appointments.domain.users import Role, User
from tests.application.conftest import NOW, PASSWORD, Clinic

WINDOW = timedelta(minutes=15)


async def test_register_creates_patient_user_and_patient_record(clinic: Clinic) -> None:
    with clinic.commits_once():
        user = await clinic.c.register_patient()(
            NewUser(" alice@Example.COM ", "alice", "  Alice Liddell ", PASSWORD),
            PatientDetails(phone="+1 555 0100", date_of_birth=date(1990, 5, 17)),
        )

    assert user.role is Role.PATIENT
    assert user.is_active
    assert (user.email, user.username, user.full_name) == (
        "alice@example.com",
        "alice",
        "Alice Liddell",
    )
    assert user.password_hash != PASSWORD
    assert clinic.state.users[user.id] == user
    [patient] = clinic.state.patients.values()
    assert patient.user_id == user.id
    assert (patient.full_name, patient.email) == ("Alice Liddell", "alice@example.com")
    assert (patient.phone, patient.date_of_birth) == ("+1 555 0100", date(1990, 5, 17))
    assert patient.is_active


@pytest.mark.parametrize(
    ("email", "username", "error"),
    [
        ("ALICE@example.com", "someone", EmailTaken),
        ("alice@EXAMPLE.com", "someone", EmailTaken),
        ("other@example.com", "ALICE", UsernameTaken),
        ("other@example.com", "Alice", UsernameTaken),
    ],
)
async def test_register_refuses_taken_email_or_username_case_insensitively(
    clinic: Clinic, email: str, username: str, error: type[DomainError]
) -> None:
    await clinic.register("alice")

    with clinic.commits_nothing(), pytest.raises(error):
        await clinic.c.register_patient()(
            NewUser(email, username, "Someone Else", PASSWORD), PatientDetails()
        )


@pytest.mark.parametrize(
    ("email", "username", "password"),
    [
        ("not-an-email", "bob", PASSWORD),
        ("bob@example.com", "b", PASSWORD),
        ("bob@example.com", "bob with spaces", PASSWORD),
        ("bob@example.com", "bob", "short"),
        ("bob@example.com", "bob", "x" * 129),
    ],
)
async def test_register_refuses_malformed_credentials(
    clinic: Clinic, email: str, username: str, password: str
) -> None:
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.register_patient()(
            NewUser(email, username, "Bob", password), PatientDetails()
        )


async def test_provision_admin_creates_an_admin(clinic: Clinic) -> None:
    with clinic.commits_once():
        user = await clinic.c.provision_admin()(
            NewUser("root@example.com", "root", "Root", PASSWORD)
        )
    assert clinic.state.users[user.id].role is Role.ADMIN
    assert not clinic.state.patients


@pytest.mark.parametrize(
    "login", ["alice", "ALICE", "Alice", "alice@example.com", "Alice@Example.COM", " alice "]
)
async def test_login_by_username_or_email_case_insensitively(clinic: Clinic, login: str) -> None:
    user = await clinic.register("alice")

    issued = await clinic.c.login()(login, PASSWORD)

    assert issued.expires_in == 30 * 60
    assert issued.expires_at == NOW + timedelta(minutes=30)
    actor = await clinic.authenticate(issued.token)
    assert actor.user_id == user.id


async def _deactivated(clinic: Clinic, user: User) -> None:
    await clinic.c.deactivate_user()(await clinic.admin(), user.id)


@pytest.mark.parametrize(
    ("login", "password", "deactivate"),
    [
        ("alice", "wrong-password", False),
        ("nobody", PASSWORD, False),
        ("nobody@example.com", PASSWORD, False),
        ("alice", PASSWORD, True),
    ],
    ids=["wrong-password", "unknown-username", "unknown-email", "deactivated"],
)
async def test_login_failures_are_indistinguishable(
    clinic: Clinic, login: str, password: str, deactivate: bool
) -> None:
    user = await clinic.register("alice")
    if deactivate:
        await _deactivated(clinic, user)

    with pytest.raises(InvalidCredentials) as raised:
        await clinic.c.login()(login, password)

    assert type(raised.value) is InvalidCredentials
    assert raised.value.detail == InvalidCredentials.default_detail
    # The failure is counted, and nothing else changed.
    assert [count for count, _ in clinic.state.login_failures.values()] == [1]


async def test_sixth_attempt_is_throttled_even_with_right_password(clinic: Clinic) -> None:
    user = await clinic.register("alice")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("Alice", "wrong-password")
        clinic.clock.advance(timedelta(minutes=1))
    # Five failures at t0..t0+4min; now is t0+5min, so the window has 10 minutes left.

    # A refused attempt is counted too (attempts count before the hash is checked), but
    # the window stays anchored at the first failure.
    with pytest.raises(TooManyAttempts) as raised:
        await clinic.c.login()("alice", PASSWORD)
    assert raised.value.retry_after == 10 * 60
    assert [count for count, _ in clinic.state.login_failures.values()] == [6]

    clinic.clock.advance(timedelta(minutes=9, seconds=59, milliseconds=500))
    with pytest.raises(TooManyAttempts) as raised:
        await clinic.c.login()("alice", PASSWORD)
    assert raised.value.retry_after == 1  # rounded up, never 0

    clinic.clock.advance(timedelta(seconds=1))
    actor = await clinic.actor("alice")
    assert actor.user_id == user.id
    assert not clinic.state.login_failures  # the success cleared the counter


async def test_throttle_lifts_after_the_window(clinic: Clinic) -> None:
    await clinic.register("alice")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("alice", "wrong-password")
    with pytest.raises(TooManyAttempts) as raised:
        await clinic.c.login()("alice", PASSWORD)
    assert raised.value.retry_after == WINDOW.total_seconds()

    clinic.clock.advance(WINDOW + timedelta(seconds=1))

    assert (await clinic.actor("alice")).role is Role.PATIENT


async def test_throttle_counts_unknown_logins_too(clinic: Clinic) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("ghost", PASSWORD)
    with pytest.raises(TooManyAttempts):
        await clinic.c.login()("ghost", PASSWORD)


async def test_success_clears_the_failure_counter(clinic: Clinic) -> None:
    await clinic.register("alice")
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("alice", "wrong-password")
    await clinic.login("alice")
    assert "alice" not in clinic.state.login_failures

    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("alice", "wrong-password")
    # 8 failures in the window in total, but only 4 since the success.
    assert (await clinic.actor("alice")).role is Role.PATIENT


async def test_failures_older_than_the_window_start_a_new_count(clinic: Clinic) -> None:
    await clinic.register("alice")
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("alice", "wrong-password")
    clinic.clock.advance(WINDOW + timedelta(seconds=1))
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await clinic.c.login()("alice", "wrong-password")

    assert [count for count, _ in clinic.state.login_failures.values()] == [4]
    assert (await clinic.actor("alice")).role is Role.PATIENT


@pytest.mark.parametrize("kind", ["admin", "doctor", "patient"])
async def test_authenticate_returns_the_actor_with_its_records(clinic: Clinic, kind: str) -> None:
    admin = await clinic.admin()
    if kind == "admin":
        actor = admin
    elif kind == "doctor":
        actor = await clinic.doctor(admin)
    else:
        actor = await clinic.patient()

    user = clinic.state.users[actor.user_id]
    assert actor.role is user.role is Role(kind.upper())
    doctors = [d.id for d in clinic.state.doctors.values() if d.user_id == user.id]
    patients = [p.id for p in clinic.state.patients.values() if p.user_id == user.id]
    assert actor.doctor_id == (doctors[0] if kind == "doctor" else None)
    assert actor.patient_id == (patients[0] if kind == "patient" else None)
    assert actor.claims is not None
    assert actor.claims.user_id == user.id

    me = await clinic.c.get_me()(actor)
    assert (me.user, me.patient_id, me.doctor_id) == (user, actor.patient_id, actor.doctor_id)


async def test_logout_revokes_only_the_presented_token(clinic: Clinic) -> None:
    user = await clinic.register()
    first = await clinic.login(user.username)
    second = await clinic.login(user.username)
    actor = await clinic.authenticate(first)

    with clinic.commits_once():
        await clinic.c.logout()(actor)

    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(first)
    assert (await clinic.authenticate(second)).user_id == user.id


async def test_logout_without_claims_is_refused(clinic: Clinic) -> None:
    user = await clinic.register()
    with clinic.commits_nothing(), pytest.raises(NotAuthenticated):
        await clinic.c.logout()(Actor(user.id, Role.PATIENT))


async def test_password_change_voids_older_tokens_only(clinic: Clinic) -> None:
    user = await clinic.register()
    old = await clinic.login(user.username)
    actor = await clinic.authenticate(old)
    clinic.clock.advance(timedelta(seconds=1))

    with clinic.commits_once():
        await clinic.c.change_password()(actor, PASSWORD, "a-brand-new-password")

    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(old)
    # Issued at the very instant of the change: still valid.
    new = await clinic.login(user.username, "a-brand-new-password")
    assert (await clinic.authenticate(new)).user_id == user.id
    with pytest.raises(InvalidCredentials):
        await clinic.login(user.username, PASSWORD)


async def test_password_change_with_wrong_current_password_changes_nothing(
    clinic: Clinic,
) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    actor = await clinic.authenticate(token)
    clinic.clock.advance(timedelta(seconds=1))

    with clinic.commits_nothing(), pytest.raises(WrongCurrentPassword):
        await clinic.c.change_password()(actor, "not-my-password", "a-brand-new-password")

    assert (await clinic.authenticate(token)).user_id == user.id
    assert (await clinic.actor(user.username, PASSWORD)).user_id == user.id


class _ChangesMidway:
    """The real hasher, but while the first verify is in progress (outside any
    transaction, as it must be) `midway` runs: another change of the same password."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self.midway: Callable[[], Awaitable[None]] | None = None

    async def hash(self, password: str) -> str:
        return await self.hasher.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        verified = await self.hasher.verify(password, password_hash)
        midway, self.midway = self.midway, None
        if midway is not None:
            await midway()
        return verified


async def test_a_password_changed_during_a_change_is_not_overwritten(clinic: Clinic) -> None:
    """Two changes from the same current password: the one that commits first stands,
    the other is refused (its current password is no longer current), not a lost update."""
    user = await clinic.register()
    actor = await clinic.actor(user.username)
    hasher = _ChangesMidway(clinic.c.hasher())
    clinic.c.hasher.override(providers.Object(hasher))

    async def change_first() -> None:
        await clinic.c.change_password()(actor, PASSWORD, "the-first-new-password")

    hasher.midway = change_first
    with pytest.raises(WrongCurrentPassword):
        await clinic.c.change_password()(actor, PASSWORD, "the-second-new-password")

    assert await clinic.login(user.username, "the-first-new-password")
    with pytest.raises(InvalidCredentials):
        await clinic.login(user.username, "the-second-new-password")


async def test_password_change_refuses_a_malformed_new_password(clinic: Clinic) -> None:
    user = await clinic.register()
    actor = await clinic.actor(user.username)
    with clinic.commits_nothing(), pytest.raises(InvalidValue):
        await clinic.c.change_password()(actor, PASSWORD, "short")


async def test_deactivated_user_token_is_refused(clinic: Clinic) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    await _deactivated(clinic, user)

    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)


async def test_token_of_unknown_user_is_refused(clinic: Clinic) -> None:
    ghost = User("ghost@example.com", "ghost", "Ghost", Role.ADMIN, "x", NOW, id=uuid4())
    token = clinic.c.tokens().issue(ghost, NOW).token

    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)


async def test_token_of_deleted_user_is_refused(clinic: Clinic) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    del clinic.store.state.users[user.id]  # no use-case deletes users; the row may vanish

    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)


async def test_expired_or_forged_tokens_are_refused(clinic: Clinic) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate("not-a-token")

    clinic.clock.advance(timedelta(minutes=31))
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)


async def test_throttle_counts_username_and_email_failures_together(clinic: Clinic) -> None:
    """One counter per account: alternating username and email does not double the budget."""
    user = await clinic.register()
    names = [user.username, user.email] * 3
    for name in names[:5]:
        with pytest.raises(InvalidCredentials):
            await clinic.login(name, "wrong-password")
    with pytest.raises(TooManyAttempts):
        await clinic.login(names[5])


async def test_parallel_guesses_cannot_outrun_the_throttle(clinic: Clinic) -> None:
    """Attempts are counted before the slow hash, so 20 guesses fired at once get at most
    5 password checks; the rest are refused with 429 (API.md: repeated failures -> 429)."""
    await clinic.register("bob")
    results = await asyncio.gather(
        *(clinic.c.login()("bob", f"guess-{n}") for n in range(20)), return_exceptions=True
    )
    assert sum(isinstance(r, InvalidCredentials) for r in results) == 5
    assert sum(isinstance(r, TooManyAttempts) for r in results) == 15
