"""Users: logins, their roles, and what authenticating a token reads."""

from __future__ import annotations

import copy
from uuid import UUID

from appointments.adapters.memory.repositories.base import (
    MemoryRepository,
    contains,
    page_of,
    stored,
)
from appointments.application.ports.queries import Page, PageRequest, Principal, UserFilter
from appointments.domain.errors import EmailTaken, UsernameTaken
from appointments.domain.users import Role, User


class MemoryUserRepository(MemoryRepository):
    def _refuse_duplicate(self, user: User) -> None:
        """The unique indexes on lower(email) and lower(username), email first."""
        others = [u for u in self._s.users.values() if u.id != user.id]
        if any(u.email.lower() == user.email.lower() for u in others):
            raise EmailTaken()
        if any(u.username.lower() == user.username.lower() for u in others):
            raise UsernameTaken()

    async def add(self, user: User) -> None:
        self._refuse_duplicate(user)
        self._s.users[user.id] = stored(user)

    async def get(self, user_id: UUID, *, lock: bool = False) -> User | None:
        return copy.copy(self._s.users.get(user_id))

    async def find_by_login(self, login: str) -> User | None:
        key = login.strip().lower()
        for user in self._s.users.values():
            if key in (user.username.lower(), user.email.lower()):
                return copy.copy(user)
        return None

    async def email_or_username_taken(self, email: str, username: str) -> None:
        if any(u.email.lower() == email.lower() for u in self._s.users.values()):
            raise EmailTaken()
        if any(u.username.lower() == username.lower() for u in self._s.users.values()):
            raise UsernameTaken()

    async def save(self, user: User) -> None:
        if user.id in self._s.users:  # an UPDATE: nothing to change, nothing happens
            self._refuse_duplicate(user)
            self._s.users[user.id] = stored(user)

    async def search(self, filters: UserFilter, page: PageRequest) -> Page[User]:
        q = filters.q

        def keep(u: User) -> bool:
            return (
                (filters.role is None or u.role is filters.role)
                and (filters.is_active is None or u.is_active == filters.is_active)
                and (not q or any(contains(v, q) for v in (u.username, u.email, u.full_name)))
            )

        found = filter(keep, self._s.users.values())
        return page_of(found, lambda u: (u.created_at, u.id), page)

    async def active_admin_ids(self, *, lock: bool = False) -> list[UUID]:
        return sorted(u.id for u in self._s.users.values() if u.role is Role.ADMIN and u.is_active)

    async def load_principal(self, user_id: UUID, jti: str) -> Principal | None:
        user = self._s.users.get(user_id)
        if user is None:
            return None
        patient = next((p.id for p in self._s.patients.values() if p.user_id == user_id), None)
        doctor = next((d.id for d in self._s.doctors.values() if d.user_id == user_id), None)
        return Principal(copy.copy(user), patient, doctor, jti in self._s.revoked_tokens)
