"""Users: logins, their roles, and what authenticating a token reads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, exists, func, or_, select

from appointments.adapters.sqlalchemy.repositories.base import SqlEntityRepository, entity_from
from appointments.adapters.sqlalchemy.tables import doctors, patients, revoked_tokens, users
from appointments.application.ports.queries import Page, PageRequest, Principal, UserFilter
from appointments.domain.errors import EmailTaken, UsernameTaken
from appointments.domain.users import Role, User

# Every authenticated request runs this: built once, with bound parameters.
_PRINCIPAL = (
    select(
        users,
        patients.c.id.label("patient_id"),
        doctors.c.id.label("doctor_id"),
        exists().where(revoked_tokens.c.jti == bindparam("jti")).label("token_revoked"),
    )
    .outerjoin(patients, patients.c.user_id == users.c.id)
    .outerjoin(doctors, doctors.c.user_id == users.c.id)
    .where(users.c.id == bindparam("user_id"))
)


def _user(row: Row[Any]) -> User:
    return entity_from(User, row, role=Role(row.role))


class SqlUserRepository(SqlEntityRepository[User]):
    table = users
    _from_row = staticmethod(_user)

    async def find_by_login(self, login: str) -> User | None:
        key = login.strip().lower()
        query = select(users).where(
            or_(func.lower(users.c.username) == key, func.lower(users.c.email) == key)
        )
        row = (await self._db.execute(query)).first()
        return _user(row) if row else None

    async def email_or_username_taken(self, email: str, username: str) -> None:
        query = select(
            exists().where(func.lower(users.c.email) == email.lower()).label("email"),
            exists().where(func.lower(users.c.username) == username.lower()).label("username"),
        )
        row = (await self._db.execute(query)).one()
        if row.email:
            raise EmailTaken()
        if row.username:
            raise UsernameTaken()

    async def search(self, filters: UserFilter, page: PageRequest) -> Page[User]:
        query = select(users)
        if filters.role is not None:
            query = query.where(users.c.role == filters.role.value)
        if filters.is_active is not None:
            query = query.where(users.c.is_active == filters.is_active)
        if filters.q:
            query = query.where(
                or_(
                    users.c.username.icontains(filters.q, autoescape=True),
                    users.c.email.icontains(filters.q, autoescape=True),
                    users.c.full_name.icontains(filters.q, autoescape=True),
                )
            )
        rows, total = await self._page(query, [users.c.created_at, users.c.id], page)
        return Page([_user(r) for r in rows], total, page.limit, page.offset)

    async def active_admin_ids(self, *, lock: bool = False) -> list[UUID]:
        query = (
            select(users.c.id)
            .where(users.c.role == Role.ADMIN.value, users.c.is_active.is_(True))
            .order_by(users.c.id)  # one lock order for everyone: no deadlocks
        )
        if lock:
            query = query.with_for_update()
        return list((await self._db.execute(query)).scalars())

    async def load_principal(self, user_id: UUID, jti: str) -> Principal | None:
        row = (await self._db.execute(_PRINCIPAL, {"user_id": user_id, "jti": jti})).first()
        if row is None:
            return None
        return Principal(_user(row), row.patient_id, row.doctor_id, bool(row.token_revoked))
