"""The staff AUP in the database: versions, signing rounds, one request per person, signatures.

A round (the annual one, or one for a new version) is planned in one transaction as one request and one
outbox row per member of staff, so a crash half-way through sending it loses nobody and repeats nobody whose
message was recorded as sent. Signing is a conditional update: two clicks make one signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from flows.aup import AupDocument, AupRules, Reason
from flows.concern import DSL_TEAM, Role
from flows.yearly import PendingSignature
from storage.models import AupCampaign, AupRequest, AupVersion, OutboxMessage, School
from storage.outbox import OutboxKind, Priority, enqueue_once, outbox_row
from storage.schools import holders, lock_school, roles_of


class SignResult(StrEnum):
    SIGNED = "signed"
    ALREADY = "already"  # signed before (a double click, or the reminder's button after the first)
    REPLACED = "replaced"  # a newer version (or round) has replaced this request
    NOT_YOURS = "not_yours"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class SignOutcome:
    result: SignResult
    request: AupRequest | None = None
    version: AupVersion | None = None


@dataclass(frozen=True)
class StaffStatus:
    user_id: str
    version: str
    reason: Reason
    requested_at: datetime
    signed_at: datetime | None


def rules_of(school: School) -> AupRules:
    return AupRules(annual_on=school.aup_annual_on, reminder_limit=school.aup_reminder_limit,
                    include_guests=school.aup_include_guests)


def local_date(school: School, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(school.timezone)).date()


def current_version(session: Session, team_id: str) -> AupVersion | None:
    return session.scalars(select(AupVersion).where(AupVersion.team_id == team_id)
                           .order_by(AupVersion.id.desc()).limit(1)).first()


def add_version(session: Session, team_id: str, doc: AupDocument, by: str | None,
                now: datetime) -> tuple[AupVersion, bool]:
    """Store a version unless the one in force has the same words; returns it and whether it is new.

    An older text brought back is a new version: everyone is asked to sign it again.
    """
    latest = current_version(session, team_id)
    if latest is not None and latest.content_hash == doc.content_hash:
        return latest, False
    version = AupVersion(team_id=team_id, version=doc.version, title=doc.title, text=doc.text, url=doc.url,
                         changes=doc.changes, content_hash=doc.content_hash, published_at=now, published_by=by)
    session.add(version)
    session.flush()
    return version, True


def _supersede_pending(session: Session, team_id: str, now: datetime) -> None:
    session.execute(update(AupRequest).where(AupRequest.team_id == team_id, AupRequest.signed_at.is_(None),
                                             AupRequest.superseded_at.is_(None)).values(superseded_at=now))


def start_round(session: Session, school: School, reason: Reason, key: str, version: AupVersion,
                roster: list[str], listed_at: datetime, now: datetime, due_at: datetime,
                started_by: str | None) -> AupCampaign | None:
    """Plan a round: every earlier unsigned request is replaced, and each person gets a request and a message.

    `roster` is the staff list as Slack gave it at `listed_at`; anyone asked since (a joiner) is added, so
    nobody's request is replaced without a new one. Returns None if a round with this key was already
    started (by this or another process).
    """
    lock_school(session, school.team_id)
    exists = session.scalar(select(AupCampaign.id).where(AupCampaign.team_id == school.team_id,
                                                         AupCampaign.key == key))
    if exists is not None:
        return None
    joined = session.scalars(select(AupRequest.user_id).where(
        AupRequest.team_id == school.team_id, AupRequest.requested_at >= listed_at,
        AupRequest.signed_at.is_(None), AupRequest.superseded_at.is_(None)))
    people = sorted(set(roster) | set(joined))
    starts_on = local_date(school, due_at)
    campaign = AupCampaign(team_id=school.team_id, key=key, reason=reason.value, version_id=version.id,
                           started_at=now, starts_on=starts_on, started_by=started_by, recipients=len(people))
    session.add(campaign)
    session.flush()  # the unique key decides a race between two processes here
    _supersede_pending(session, school.team_id, now)
    if people:
        ids = session.execute(insert(AupRequest).returning(AupRequest.id, AupRequest.user_id), [
            dict(team_id=school.team_id, key=f"{school.team_id}:{key}:{user}", campaign_id=campaign.id,
                 version_id=version.id, user_id=user, reason=reason.value, requested_at=now, requested_on=starts_on,
                 reminders_sent=0, last_contact_on=starts_on) for user in people]).all()
        session.execute(insert(OutboxMessage), [
            outbox_row(school.team_id, OutboxKind.AUP_REQUEST, f"{school.team_id}:aup-request:{request_id}", now,
                       recipient_id=user, payload={"request_id": request_id}, due_at=due_at,
                       priority=Priority.BROADCAST) for request_id, user in ids])
    for user in notice_recipients(session, school, started_by):
        enqueue_once(session, school.team_id, OutboxKind.AUP_ROUND_NOTICE, f"{school.team_id}:{key}:started:{user}",
                     now, recipient_id=user, payload={"campaign_id": campaign.id, "stage": "started"},
                     due_at=due_at, priority=Priority.ROUTINE)
    return campaign


# Each team_join reads these: built once (storage.drafts says why).
_CURRENT_VERSION_ID = select(AupVersion.id).where(AupVersion.team_id == bindparam("team_id")) \
    .order_by(AupVersion.id.desc()).limit(1)
_ASKED = select(AupRequest.id).where(
    AupRequest.team_id == bindparam("team_id"), AupRequest.user_id == bindparam("user_id"),
    AupRequest.version_id == bindparam("version_id"), AupRequest.superseded_at.is_(None))


def ask_joiner(session: Session, school: School, user_id: str, now: datetime, due_at: datetime) -> bool:
    """A new member of staff is asked to sign the version in force on their first day, unless they already
    have been (a round planned as they joined, or Slack sending the event twice)."""
    version_id = session.scalar(_CURRENT_VERSION_ID, {"team_id": school.team_id})  # the id, not its text
    if version_id is None:
        return False
    asked = session.scalar(_ASKED, {"team_id": school.team_id, "user_id": user_id, "version_id": version_id})
    if asked is not None:
        return False
    today = local_date(school, due_at)
    request = AupRequest(team_id=school.team_id, key=f"{school.team_id}:joiner:{version_id}:{user_id}",
                         campaign_id=None, version_id=version_id, user_id=user_id, reason=Reason.JOINER.value,
                         requested_at=now, requested_on=today, reminders_sent=0, last_contact_on=today)
    session.add(request)
    session.flush()
    return enqueue_once(session, school.team_id, OutboxKind.AUP_REQUEST, f"{school.team_id}:aup-request:{request.id}",
                        now, recipient_id=user_id, payload={"request_id": request.id}, due_at=due_at,
                        priority=Priority.ROUTINE)


def notice_recipients(session: Session, school: School, started_by: str | None = None) -> list[str]:
    """Who hears how a round is going and who has not signed: whoever started it, else the school's choice,
    else the head."""
    if started_by:
        return [started_by]
    if school.aup_report_to:
        return list(school.aup_report_to)
    return [h.user_id for h in holders(session, school.team_id, frozenset({Role.HEADTEACHER})) if h.user_id]


def may_see_everyone(session: Session, school: School, user_id: str) -> bool:
    """The whole staff's signing status: the DSL team, the head, and whoever the school names."""
    roles = roles_of(session, school.team_id, user_id)
    return bool(roles & (DSL_TEAM | {Role.HEADTEACHER})) or user_id in (school.aup_report_to or [])


def request_and_version(session: Session, team_id: str, request_id: int) -> tuple[AupRequest, AupVersion] | None:
    request = session.get(AupRequest, request_id)
    if request is None or request.team_id != team_id:
        return None
    return request, session.get_one(AupVersion, request.version_id)


def sign(session: Session, team_id: str, request_id: int, user_id: str, now: datetime) -> SignOutcome:
    found = request_and_version(session, team_id, request_id)
    if found is None:
        return SignOutcome(SignResult.NOT_FOUND)
    request, version = found
    if request.user_id != user_id:
        return SignOutcome(SignResult.NOT_YOURS)
    moved = session.execute(
        update(AupRequest).where(AupRequest.id == request_id, AupRequest.signed_at.is_(None),
                                 AupRequest.superseded_at.is_(None))
        .values(signed_at=now, signed_hash=version.content_hash)).rowcount  # type: ignore[attr-defined]
    session.refresh(request)
    if moved:
        return SignOutcome(SignResult.SIGNED, request, version)
    if request.signed_at is not None:
        return SignOutcome(SignResult.ALREADY, request, version)
    return SignOutcome(SignResult.REPLACED, request, version)


def mark_done(session: Session, request_id: int, now: datetime) -> AupCampaign | None:
    """The request's message has gone, or need not (signed first, or the person has left); returns its round
    if that was the last one still to go, once."""
    session.execute(update(AupRequest).where(AupRequest.id == request_id, AupRequest.delivered_at.is_(None))
                    .values(delivered_at=now))
    request = session.get_one(AupRequest, request_id)
    if request.campaign_id is None:
        return None
    left = session.scalar(select(AupRequest.id).where(  # one still to go is enough to know (an index finds it)
        AupRequest.campaign_id == request.campaign_id, AupRequest.delivered_at.is_(None),
        AupRequest.superseded_at.is_(None)).limit(1))
    if left is not None:
        return None
    finished = session.execute(update(AupCampaign).where(AupCampaign.id == request.campaign_id,
                                                         AupCampaign.finished_at.is_(None))
                               .values(finished_at=now)).rowcount  # type: ignore[attr-defined]
    return session.get_one(AupCampaign, request.campaign_id) if finished else None


def left_the_school(session: Session, request_id: int, now: datetime) -> None:
    """Slack says the person has gone: their request is closed, and they no longer count as unsigned."""
    session.execute(update(AupRequest).where(AupRequest.id == request_id, AupRequest.signed_at.is_(None))
                    .values(superseded_at=now))


def round_progress(session: Session, campaign_id: int) -> tuple[int, int]:
    """(delivered, asked) for a round."""
    delivered = session.scalar(select(func.count()).select_from(AupRequest).where(
        AupRequest.campaign_id == campaign_id, AupRequest.delivered_at.is_not(None))) or 0
    asked = session.scalar(select(func.count()).select_from(AupRequest).where(
        AupRequest.campaign_id == campaign_id)) or 0
    return int(delivered), int(asked)


def pending(session: Session, team_id: str) -> list[PendingSignature]:
    rows = session.scalars(select(AupRequest).where(AupRequest.team_id == team_id, AupRequest.signed_at.is_(None),
                                                    AupRequest.superseded_at.is_(None)).order_by(AupRequest.id))
    return [PendingSignature(r.id, r.user_id, r.requested_on, r.last_contact_on, r.reminders_sent) for r in rows]


def claim_reminder(session: Session, request_id: int, number: int, today: date) -> bool:
    """Count reminder `number` as sent; true exactly once, and never once the person has signed."""
    return bool(session.execute(
        update(AupRequest).where(AupRequest.id == request_id, AupRequest.reminders_sent == number - 1,
                                 AupRequest.signed_at.is_(None), AupRequest.superseded_at.is_(None))
        .values(reminders_sent=number, last_contact_on=today)).rowcount)  # type: ignore[attr-defined]


def last_round_on(session: Session, team_id: str) -> date | None:
    """When the latest round's messages went out (or go out): a round since the start of the school year
    counts as this year's."""
    return session.scalar(select(func.max(AupCampaign.starts_on)).where(AupCampaign.team_id == team_id))


def staff_status(session: Session, team_id: str) -> list[StaffStatus]:
    """Each member of staff's latest request: what they were last asked to sign, and whether they have.
    Someone whose latest request was closed without a newer one has left (or was left off the staff list)."""
    latest = select(func.max(AupRequest.id)).where(AupRequest.team_id == team_id).group_by(AupRequest.user_id)
    rows = session.execute(select(AupRequest, AupVersion.version).join(AupVersion, AupVersion.id == AupRequest.version_id)
                           .where(AupRequest.id.in_(latest), AupRequest.superseded_at.is_(None))
                           .order_by(AupRequest.user_id))
    return [StaffStatus(r.user_id, v, Reason(r.reason), r.requested_at, r.signed_at) for r, v in rows]


def status_of(session: Session, team_id: str, user_id: str) -> tuple[AupRequest, AupVersion] | None:
    request = session.scalars(select(AupRequest).where(AupRequest.team_id == team_id, AupRequest.user_id == user_id)
                              .order_by(AupRequest.id.desc()).limit(1)).first()
    return (request, session.get_one(AupVersion, request.version_id)) if request else None


def signing_rate(session: Session, team_id: str) -> tuple[int, int]:
    """(signed, asked) over each person's latest request."""
    statuses = staff_status(session, team_id)
    return sum(1 for s in statuses if s.signed_at), len(statuses)
