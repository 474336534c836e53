"""Admin user management: authorization, listing, creation, updates, the last admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from appointments.application.access import Actor
from appointments.application.errors import Forbidden, InvalidCredentials, NotAuthenticated
from appointments.application.ports.queries import PageRequest, UserFilter
from appointments.application.users import NewUser, UserChanges
from appointments.container import Container
from appointments.domain.errors import EmailTaken, LastAdmin, NotFound, UsernameTaken
from appointments.domain.users import Role
from tests.application.conftest import PASSWORD, Clinic

AdminCall = Callable[[Container, Actor, UUID], Awaitable[object]]

ADMIN_CALLS: dict[str, AdminCall] = {
    "list": lambda c, a, _: c.list_users()(a, UserFilter(), PageRequest()),
    "create": lambda c, a, _: c.create_user()(
        a, NewUser("new@example.com", "newbie", "New", PASSWORD), Role.ADMIN
    ),
    "get": lambda c, a, uid: c.get_user()(a, uid),
    "update": lambda c, a, uid: c.update_user()(a, uid, UserChanges(role=Role.ADMIN)),
    "deactivate": lambda c, a, uid: c.deactivate_user()(a, uid),
}


@pytest.mark.parametrize("call", ADMIN_CALLS.values(), ids=ADMIN_CALLS.keys())
@pytest.mark.parametrize("role", [Role.DOCTOR, Role.PATIENT])
async def test_non_admins_are_forbidden(
    clinic: Clinic, admin: Actor, call: AdminCall, role: Role
) -> None:
    actor = await clinic.doctor(admin) if role is Role.DOCTOR else await clinic.patient()
    target = (await clinic.register()).id

    with clinic.commits_nothing(), pytest.raises(Forbidden):
        await call(clinic.c, actor, target)


@pytest.mark.parametrize("call", ADMIN_CALLS.values(), ids=ADMIN_CALLS.keys())
async def test_admins_may_use_every_admin_use_case(
    clinic: Clinic, admin: Actor, call: AdminCall
) -> None:
    target = (await clinic.register()).id
    await call(clinic.c, admin, target)


async def _people(clinic: Clinic, admin: Actor) -> dict[str, UUID]:
    """A second admin, a doctor, two patients (one deactivated); returns ids by name."""
    create = clinic.c.create_user()
    ids = {}
    for username, full_name, role in [
        ("boss", "Big Boss", Role.ADMIN),
        ("house", "Gregory House", Role.DOCTOR),
        ("pat", "Pat Smith", Role.PATIENT),
        ("sam", "Sam Smithers", Role.PATIENT),
    ]:
        user = await create(
            admin, NewUser(f"{username}@clinic.org", username, full_name, PASSWORD), role
        )
        ids[username] = user.id
    await clinic.c.deactivate_user()(admin, ids["sam"])
    ids["admin"] = admin.user_id
    return ids


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (UserFilter(), {"admin", "boss", "house", "pat", "sam"}),
        (UserFilter(role=Role.ADMIN), {"admin", "boss"}),
        (UserFilter(role=Role.PATIENT), {"pat", "sam"}),
        (UserFilter(is_active=False), {"sam"}),
        (UserFilter(is_active=True, role=Role.PATIENT), {"pat"}),
        (UserFilter(q="SMITH"), {"pat", "sam"}),  # full name, case-insensitive
        (UserFilter(q="hous"), {"house"}),  # username
        (UserFilter(q="@clinic.org"), {"boss", "house", "pat", "sam"}),  # email
        (UserFilter(q="smith", is_active=True), {"pat"}),
        (UserFilter(q="nobody-matches"), set()),
    ],
)
async def test_list_users_filters(
    clinic: Clinic, admin: Actor, filters: UserFilter, expected: set[str]
) -> None:
    ids = await _people(clinic, admin)

    page = await clinic.c.list_users()(admin, filters, PageRequest(limit=100))

    assert {u.id for u in page.items} == {ids[name] for name in expected}
    assert page.total == len(expected)


async def test_list_users_paginates_with_totals(clinic: Clinic, admin: Actor) -> None:
    await _people(clinic, admin)
    clinic.clock.advance(timedelta(seconds=1))
    everyone = await clinic.c.list_users()(admin, UserFilter(), PageRequest(limit=100))

    pages = [
        await clinic.c.list_users()(admin, UserFilter(), PageRequest(limit=2, offset=offset))
        for offset in (0, 2, 4)
    ]

    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert {p.total for p in pages} == {5}
    assert [(p.limit, p.offset) for p in pages] == [(2, 0), (2, 2), (2, 4)]
    assert [u for p in pages for u in p.items] == everyone.items
    beyond = await clinic.c.list_users()(admin, UserFilter(), PageRequest(limit=2, offset=10))
    assert (beyond.items, beyond.total) == ([], 5)


@pytest.mark.parametrize("role", list(Role))
async def test_create_user_with_each_role(clinic: Clinic, admin: Actor, role: Role) -> None:
    with clinic.commits_once():
        user = await clinic.c.create_user()(
            admin, NewUser("Kim@Example.com", "kim", "Kim Lee", PASSWORD), role
        )

    assert clinic.state.users[user.id].role is role
    records = [p for p in clinic.state.patients.values() if p.user_id == user.id]
    if role is Role.PATIENT:
        assert [(p.full_name, p.email) for p in records] == [("Kim Lee", "Kim@example.com")]
    else:
        assert records == []
    actor = await clinic.actor("KIM")
    assert actor.role is role
    assert (actor.patient_id is not None) == (role is Role.PATIENT)


@pytest.mark.parametrize(
    ("email", "username", "error"),
    [("KIM@example.com", "other", EmailTaken), ("other@example.com", "Kim", UsernameTaken)],
)
async def test_create_user_refuses_duplicates(
    clinic: Clinic, admin: Actor, email: str, username: str, error: type[Exception]
) -> None:
    await clinic.c.create_user()(
        admin, NewUser("kim@example.com", "kim", "Kim", PASSWORD), Role.DOCTOR
    )
    with clinic.commits_nothing(), pytest.raises(error):
        await clinic.c.create_user()(
            admin, NewUser(email, username, "Kim Again", PASSWORD), Role.PATIENT
        )


async def test_get_user(clinic: Clinic, admin: Actor) -> None:
    user = await clinic.register()
    assert await clinic.c.get_user()(admin, user.id) == user


@pytest.mark.parametrize("call", ["get", "update", "deactivate"])
async def test_unknown_user_is_not_found(clinic: Clinic, admin: Actor, call: str) -> None:
    with clinic.commits_nothing(), pytest.raises(NotFound):
        await ADMIN_CALLS[call](clinic.c, admin, uuid4())


async def test_update_user_fields(clinic: Clinic, admin: Actor) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    clinic.clock.advance(timedelta(seconds=1))

    with clinic.commits_once():
        updated = await clinic.c.update_user()(
            admin,
            user.id,
            UserChanges(full_name=" New Name ", role=Role.DOCTOR, password="another-password"),
        )

    assert (updated.full_name, updated.role) == ("New Name", Role.DOCTOR)
    assert clinic.state.users[user.id] == updated
    # A new password voids older tokens and the old password.
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)
    with pytest.raises(InvalidCredentials):
        await clinic.login(user.username)
    assert (await clinic.actor(user.username, "another-password")).role is Role.DOCTOR


async def test_update_user_without_password_keeps_tokens(clinic: Clinic, admin: Actor) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    clinic.clock.advance(timedelta(seconds=1))

    await clinic.c.update_user()(admin, user.id, UserChanges(full_name="Renamed"))

    assert (await clinic.authenticate(token)).user_id == user.id


async def test_deactivate_and_reactivate_through_update(clinic: Clinic, admin: Actor) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    clinic.clock.advance(timedelta(seconds=1))

    await clinic.c.update_user()(admin, user.id, UserChanges(is_active=False))
    assert not clinic.state.users[user.id].is_active
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)

    await clinic.c.update_user()(admin, user.id, UserChanges(is_active=True))
    assert clinic.state.users[user.id].is_active
    # Reactivation does not resurrect the revoked token, but a new login works.
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)
    assert (await clinic.actor(user.username)).user_id == user.id


async def test_deactivate_user_revokes_tokens(clinic: Clinic, admin: Actor) -> None:
    user = await clinic.register()
    token = await clinic.login(user.username)
    clinic.clock.advance(timedelta(seconds=1))

    with clinic.commits_once():
        await clinic.c.deactivate_user()(admin, user.id)

    assert not clinic.state.users[user.id].is_active
    with pytest.raises(NotAuthenticated):
        await clinic.authenticate(token)
    with pytest.raises(InvalidCredentials):
        await clinic.login(user.username)


LAST_ADMIN_MOVES: dict[str, AdminCall] = {
    "delete": lambda c, a, uid: c.deactivate_user()(a, uid),
    "deactivate": lambda c, a, uid: c.update_user()(a, uid, UserChanges(is_active=False)),
    "demote-doctor": lambda c, a, uid: c.update_user()(a, uid, UserChanges(role=Role.DOCTOR)),
    "demote-patient": lambda c, a, uid: c.update_user()(a, uid, UserChanges(role=Role.PATIENT)),
}


@pytest.mark.parametrize("move", LAST_ADMIN_MOVES.values(), ids=LAST_ADMIN_MOVES.keys())
async def test_the_last_active_admin_stays(clinic: Clinic, admin: Actor, move: AdminCall) -> None:
    # Another admin exists but is inactive: it does not count.
    other = await clinic.admin()
    await clinic.c.deactivate_user()(admin, other.user_id)

    with clinic.commits_nothing(), pytest.raises(LastAdmin):
        await move(clinic.c, admin, admin.user_id)


@pytest.mark.parametrize("move", LAST_ADMIN_MOVES.values(), ids=LAST_ADMIN_MOVES.keys())
async def test_an_admin_may_go_while_another_active_admin_remains(
    clinic: Clinic, admin: Actor, move: AdminCall
) -> None:
    other = await clinic.admin()

    with clinic.commits_once():
        await move(clinic.c, admin, other.user_id)

    user = clinic.state.users[other.user_id]
    assert not (user.is_active and user.role is Role.ADMIN)
    # Now `admin` is the last one.
    with clinic.commits_nothing(), pytest.raises(LastAdmin):
        await move(clinic.c, admin, admin.user_id)


async def test_keeping_an_admin_role_is_not_a_demotion(clinic: Clinic, admin: Actor) -> None:
    with clinic.commits_once():
        await clinic.c.update_user()(admin, admin.user_id, UserChanges(role=Role.ADMIN))
    assert clinic.state.users[admin.user_id].role is Role.ADMIN


async def test_deactivating_an_inactive_admin_is_allowed(clinic: Clinic, admin: Actor) -> None:
    other = await clinic.admin()
    await clinic.c.deactivate_user()(admin, other.user_id)
    await clinic.c.deactivate_user()(admin, other.user_id)
    assert not clinic.state.users[other.user_id].is_active
