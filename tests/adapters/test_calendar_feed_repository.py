"""The calendar feed repository contract, on every backend (memory, SQLite, PostgreSQL):
round trip, scoped lists of active feeds, the counted fetch by token hash, names."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from appointments.adapters.clock import FixedClock
from appointments.application.access import FeedScope
from appointments.application.ports.queries import PageRequest
from appointments.domain.calendar_feeds import CalendarFeed, FeedOwner, hash_token
from tests.adapters.conftest import Backend, Seed


async def test_round_trip_scoped_search_and_revocation(
    backend: Backend, seed: Seed, clock: FixedClock
) -> None:
    doctor, patient = await seed.doctor(), await seed.patient()
    user = await seed.user()
    mine, token = CalendarFeed.issue(FeedOwner.PATIENT, patient.id, clock.now(), user.id)
    theirs, _ = CalendarFeed.issue(
        FeedOwner.DOCTOR, doctor.id, clock.now() + timedelta(seconds=1), user.id
    )
    async with backend.uow() as uow:
        await uow.calendar_feeds.add(mine)
        await uow.calendar_feeds.add(theirs)
        await uow.commit()
    assert await backend.stored("calendar_feeds") == 2
    assert mine.token_hash == hash_token(token) != token
    own = FeedScope(owner_type=FeedOwner.PATIENT, owner_id=patient.id)
    async with backend.uow(read_only=True) as uow:
        assert await uow.calendar_feeds.get(mine.id) == mine
        assert await uow.calendar_feeds.get(uuid4()) is None
        everything = await uow.calendar_feeds.search(FeedScope(everyone=True), PageRequest())
        assert [f.id for f in everything.items] == [mine.id, theirs.id]
        assert [f.id for f in (await uow.calendar_feeds.search(own, PageRequest())).items] == [
            mine.id
        ]
        assert (await uow.calendar_feeds.search(FeedScope(), PageRequest())).total == 0

    mine.revoke(clock.now())
    async with backend.uow() as uow:
        await uow.calendar_feeds.save(mine)
        await uow.commit()
    async with backend.uow() as uow:
        assert (await uow.calendar_feeds.search(own, PageRequest())).total == 0
        assert await uow.calendar_feeds.fetch(mine.token_hash, clock.now(), clock.now()) is None
        assert (await uow.calendar_feeds.get(mine.id)) == mine


async def test_fetch_counts_within_a_window_and_starts_again_after_it(
    backend: Backend, seed: Seed, clock: FixedClock
) -> None:
    patient = await seed.patient()
    feed, _ = CalendarFeed.issue(FeedOwner.PATIENT, patient.id, clock.now(), uuid4())
    feed.created_by = None
    async with backend.uow() as uow:
        await uow.calendar_feeds.add(feed)
        await uow.commit()
    window = timedelta(minutes=10)
    counts = []
    for minutes in (0, 1, 2, 11):
        now = clock.now() + timedelta(minutes=minutes)
        async with backend.uow() as uow:
            found = await uow.calendar_feeds.fetch(feed.token_hash, now, now - window)
            await uow.commit()
        assert found is not None
        assert found[0] == feed
        counts.append((found[1].fetches, found[1].window_started_at - clock.now()))
    assert counts == [
        (1, timedelta(0)),
        (2, timedelta(0)),
        (3, timedelta(0)),
        (1, timedelta(minutes=11)),
    ]
    async with backend.uow() as uow:
        assert await uow.calendar_feeds.fetch("0" * 64, clock.now(), clock.now()) is None


async def test_party_names(backend: Backend, seed: Seed) -> None:
    doctor, patient, other = await seed.doctor(), await seed.patient(), await seed.patient()
    async with backend.uow(read_only=True) as uow:
        names = await uow.calendar_feeds.party_names({doctor.id}, {patient.id, uuid4()})
        assert await uow.calendar_feeds.party_names(set(), set()) == {}
    assert names == {doctor.id: doctor.full_name, patient.id: patient.full_name}
    assert other.id not in names
