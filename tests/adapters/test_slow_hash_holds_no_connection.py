"""The password hash is the slowest step of registration, login, a password change (or
an admin setting one) and creating a user (tens of milliseconds at the production cost):
it runs outside any transaction, so no pooled connection (and on SQLite, not the write
lock) is held while it computes. Each use-case runs against the real database; the
hasher notes how many connections are checked out whenever it hashes or verifies."""

from __future__ import annotations

from uuid import uuid4

import pytest
from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncEngine

from appointments.application.access import Actor
from appointments.application.errors import InvalidCredentials
from appointments.application.ports.services import PasswordHasher
from appointments.application.users import NewUser, PatientDetails, UserChanges
from appointments.container import Container
from appointments.domain.departments import Department
from appointments.domain.users import Role

PASSWORD = "a-long-enough-password"


class _Watching:
    def __init__(self, hasher: PasswordHasher, engine: AsyncEngine) -> None:
        self.hasher, self.engine = hasher, engine
        self.checked_out: list[int] = []

    def _note(self) -> None:
        self.checked_out.append(self.engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]

    async def hash(self, password: str) -> str:
        self._note()
        return await self.hasher.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        self._note()
        return await self.hasher.verify(password, password_hash)


def _new(name: str) -> NewUser:
    return NewUser(f"{name}@example.com", name, f"Someone {name}", PASSWORD)


async def test_no_connection_is_held_while_a_password_hashes(
    container: Container, engine: AsyncEngine
) -> None:
    watching = _Watching(container.hasher(), engine)
    container.hasher.override(providers.Object(watching))
    tag = uuid4().hex[:8]

    admin = await container.provision_admin()(_new(f"admin{tag}"))
    acting = Actor(admin.id, Role.ADMIN)
    patient = await container.register_patient()(_new(f"pat{tag}"), PatientDetails())
    staff = await container.create_user()(acting, _new(f"staff{tag}"), Role.ADMIN)
    await container.update_user()(acting, staff.id, UserChanges(password="set-by-an-admin"))
    department = await container.create_department()(acting, f"Dept {tag}", None)
    assert isinstance(department, Department)
    await container.create_doctor()(
        acting, _new(f"doc{tag}"), department.id, "General practice", None
    )
    await container.login()(patient.username, PASSWORD)
    with pytest.raises(InvalidCredentials):  # an unknown name: the dummy verify
        await container.login()(f"nobody{tag}", PASSWORD)
    await container.change_password()(
        Actor(patient.id, Role.PATIENT), PASSWORD, "another-long-password"
    )

    assert len(watching.checked_out) == 9  # 4 users created, a password set, 2 logins,
    assert watching.checked_out == [0] * 9  # and a change's verify and hash
