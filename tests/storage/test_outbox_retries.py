"""The outbox never gives up: however many attempts fail, a row stays due again within five minutes (or when
Slack's Retry-After says); overdue alerts are found for the fallback email once; seen Slack events are
claimed once and pruned after a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from flows.clock import ManualClock
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox import (
    MAX_BACKOFF, MAX_RETRY_AFTER, OutboxKind, claim_due, enqueue_once, mark_failed, mark_sent, overdue_announcements,
    unsent_announcements,
)
from storage.seen_events import SeenEvent, claim_event, prune_seen_events
from tests.concurrency import together
from tests.storage.helpers import TEAM, report, set_up_school


def test_a_row_that_fails_for_a_day_is_still_tried_every_five_minutes_and_then_sent(db: Database,
                                                                                   clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    concern = report(db, clock.now())
    tried: dict[int, int] = {}
    end = clock.now() + timedelta(days=1)
    while clock.now() < end:
        with db.session() as session:
            items = claim_due(session, clock.now(), 50)
        for item in items:  # the DSL alert and the receipt, failing together
            tried[item.id] = tried.get(item.id, 0) + 1
            assert item.attempts == tried[item.id] and item.concern_id == concern.id
            with db.session() as session:
                due = mark_failed(session, item.id, item.attempts, clock.now(), "Slack answered 502: bad_gateway")
            assert due - clock.now() == min(timedelta(seconds=2 ** min(item.attempts, 20)), MAX_BACKOFF)
        with db.session() as session:
            next_due = session.scalar(select(func.min(OutboxMessage.due_at)).where(OutboxMessage.sent_at.is_(None)))
        assert next_due is not None and timedelta(0) < next_due - clock.now() <= MAX_BACKOFF  # never parked or dropped
        clock.set(next_due)
    assert len(tried) == 2 and min(tried.values()) > 280  # a day of five-minute retries, for each
    with db.session() as session:
        items = claim_due(session, clock.now(), 50)
        assert len(items) == 2
        for item in items:
            mark_sent(session, item.id, clock.now())
    with db.session() as session:
        for row in session.scalars(select(OutboxMessage)):
            assert row.sent_at == clock.now() and row.last_error is None and row.attempts == tried[row.id] + 1


def test_slacks_retry_after_is_waited_out_when_longer_than_the_backoff(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    report(db, clock.now())
    with db.session() as session:
        item = next(i for i in claim_due(session, clock.now()) if i.kind is OutboxKind.DSL_ALERT)
        due = mark_failed(session, item.id, item.attempts, clock.now(), "Slack answered 429: ratelimited",
                          not_before=clock.now() + timedelta(seconds=30))
        assert due == clock.now() + timedelta(seconds=30)
        assert not [i for i in claim_due(session, clock.now() + timedelta(seconds=29)) if i.id == item.id]
        assert [i.id for i in claim_due(session, clock.now() + timedelta(seconds=30)) if i.id == item.id] == [item.id]
        # A Retry-After shorter than the backoff does not hurry it.
        due = mark_failed(session, item.id, 5, clock.now(), "Slack answered 429: ratelimited",
                          not_before=clock.now() + timedelta(seconds=1))
        assert due == clock.now() + timedelta(seconds=32)
        # Nor does a Retry-After of a day park it: ten minutes at most.
        due = mark_failed(session, item.id, 9, clock.now(), "Slack answered 429: ratelimited",
                          not_before=clock.now() + timedelta(days=1))
        assert due == clock.now() + MAX_RETRY_AFTER


def test_overdue_alerts_are_found_once_for_the_fallback_email(db: Database, clock: ManualClock) -> None:
    set_up_school(db, clock.now())
    first = report(db, clock.now())
    clock.advance(timedelta(minutes=10))
    second = report(db, clock.now())
    with db.session() as session:
        assert overdue_announcements(session, clock.now() - timedelta(minutes=15)) == []
    clock.advance(timedelta(minutes=6))
    with db.session() as session:
        assert overdue_announcements(session, clock.now() - timedelta(minutes=15)) == [(TEAM, first.id)]
        assert enqueue_once(session, TEAM, OutboxKind.FALLBACK_EMAIL, f"{first.id}:fallback", clock.now(),
                            concern_id=first.id)
        assert not enqueue_once(session, TEAM, OutboxKind.FALLBACK_EMAIL, f"{first.id}:fallback", clock.now(),
                                concern_id=first.id)  # once per concern, whoever asks
    clock.advance(timedelta(minutes=10))
    with db.session() as session:
        assert overdue_announcements(session, clock.now() - timedelta(minutes=15)) == [(TEAM, second.id)]
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.concern_id == second.id)):
            row.sent_at = clock.now()  # delivered at last
    with db.session() as session:
        assert overdue_announcements(session, clock.now() - timedelta(minutes=15)) == []
        assert unsent_announcements(session, second.id) == 0 and unsent_announcements(session, first.id) == 2


def test_an_event_id_is_claimed_once_even_at_the_same_moment_and_pruned_after_a_day(db: Database,
                                                                                   clock: ManualClock) -> None:
    def claim() -> bool:
        with db.session() as session:
            return claim_event(session, "Ev0123ABCD", TEAM, clock.now())

    assert sorted(together(claim, claim, claim)) == [False, False, True]
    assert claim() is False
    clock.advance(timedelta(hours=23))
    with db.session() as session:
        assert claim_event(session, "Ev0456EFGH", TEAM, clock.now())
        assert prune_seen_events(session, clock.now()) == 0
    clock.advance(timedelta(hours=2))
    with db.session() as session:
        assert prune_seen_events(session, clock.now()) == 1
        assert list(session.scalars(select(SeenEvent.event_id))) == ["Ev0456EFGH"]
    assert claim() is True  # forgotten: a delivery a day later is a new event to Slack too
