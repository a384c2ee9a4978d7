"""SQLAlchemy 2 models. Every row belongs to a school, identified by its Slack team id.

Sensitive detail lives in `Draft.answers`, `Concern.details`, `ConcernAction.note`, `InitialReview` and
`ConcernChild.name`, all sealed at rest (storage.crypto), and `ConcernChild.name_key` (a keyed hash of a child's
folded name, to find their chronology). Messages are rendered only from
`storage.access.ConcernSummary`, which reads none of those.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.crypto import SealedJSON, SealedText


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset, so we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime; use an aware UTC time")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is timezone.utc:  # PostgreSQL's, in its UTC session (storage.db)
            return value
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


TEAM_ID = String(32)
USER_ID = String(32)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class School(Base):
    __tablename__ = "schools"

    team_id: Mapped[str] = mapped_column(TEAM_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    dsl_channel_id: Mapped[str | None] = mapped_column(String(32))
    dsl_channel_name: Mapped[str | None] = mapped_column(String(100))
    lado_email: Mapped[str | None] = mapped_column(String(254))
    fallback_email: Mapped[str | None] = mapped_column(String(254))  # told when a concern can't reach Slack
    office_contact: Mapped[str | None] = mapped_column(String(200))  # how outsiders reach the case manager
    escalation_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    day_starts: Mapped[time] = mapped_column(Time, default=time(8, 0), server_default="08:00:00")
    day_ends: Mapped[time] = mapped_column(Time, default=time(17, 0), server_default="17:00:00")
    draft_nudge_at: Mapped[time] = mapped_column(Time, default=time(15, 30), server_default="15:30:00")
    closure_days: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates the school is closed
    # The yearly cycle: when the AUP round starts (MM-DD), how many weekly reminders, whether guests sign,
    # who gets the weekly list of who has not signed (user ids; none: the head), the governors' report dates.
    aup_annual_on: Mapped[str] = mapped_column(String(5), default="09-01", server_default="09-01")
    aup_reminder_limit: Mapped[int] = mapped_column(Integer, default=4, server_default="4")
    aup_include_guests: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    aup_report_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    report_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    aup_file_hash: Mapped[str | None] = mapped_column(String(64))  # the AUP the set-up file last gave
    admin_user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # may change settings in Slack
    uninstalled_at: Mapped[datetime | None]  # the app was removed: nothing is sent; every record is kept
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoleAssignment(Base):
    """Who holds a safeguarding role: a workspace member (user_id) or an outside contact (email only)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("team_id", "role", "user_id", "email", name="uq_role_holder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(USER_ID)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(200))


class AdminChange(Base):
    """The audit log of the school's settings: who changed what, when, from Slack or the set-up file."""

    __tablename__ = "admin_changes"
    __table_args__ = (Index("ix_admin_changes_team", "team_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    actor_id: Mapped[str | None] = mapped_column(USER_ID)  # None: the set-up file, from the command line
    at: Mapped[datetime]
    change: Mapped[str] = mapped_column(Text)


class Draft(Base):
    """A form in progress, saved after every step so nothing typed is lost."""

    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_reporter_open", "team_id", "reporter_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"))
    reporter_id: Mapped[str] = mapped_column(USER_ID)
    form_id: Mapped[str] = mapped_column(String(32))
    step_id: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(SealedJSON("drafts.answers"), default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"

    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Concern(Base):
    __tablename__ = "concerns"
    __table_args__ = (
        UniqueConstraint("team_id", "reference", name="uq_concern_reference"),
        UniqueConstraint("draft_id", name="uq_concern_draft"),
        Index("ix_concerns_team_status", "team_id", "status", "reported_at"),
        Index("ix_concerns_escalate_at", "status", "escalate_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"))
    reference: Mapped[str] = mapped_column(String(32))
    draft_id: Mapped[str] = mapped_column(String(32))
    reporter_id: Mapped[str] = mapped_column(USER_ID)
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_user_id: Mapped[str | None] = mapped_column(USER_ID)  # never told, never allowed to open it
    case_roles: Mapped[list[str]] = mapped_column(JSON, default=list)  # the routing decision: who handles it
    meets_harm_threshold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    personal_data_breach: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    category: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date] = mapped_column(Date)
    reported_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    details: Mapped[dict[str, Any]] = mapped_column(SealedJSON("concerns.details"))
    reported_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(USER_ID)
    acknowledged_at: Mapped[datetime | None]
    immediate_referral: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalate_at: Mapped[datetime | None]  # the next escalation falls due then, unless acknowledged first
    assigned_to: Mapped[str | None] = mapped_column(USER_ID)
    closed_by: Mapped[str | None] = mapped_column(USER_ID)
    closed_at: Mapped[datetime | None]
    # Retention (flows.retention): kept until this date, then deleted by `concernbot retention`, unless held.
    retain_until: Mapped[date] = mapped_column(Date)
    # Under a legal hold now: never deleted. Who set the last hold, when and why (kept after its release).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    legal_hold_by: Mapped[str | None] = mapped_column(USER_ID)
    legal_hold_at: Mapped[datetime | None]
    legal_hold_reason: Mapped[str | None] = mapped_column(SealedText("concerns.legal_hold_reason"))

    status_changes: Mapped[list[StatusChange]] = relationship(
        order_by="StatusChange.id", lazy="raise_on_sql", viewonly=True
    )


class StatusChange(Base):
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(USER_ID)
    at: Mapped[datetime]


class ConcernAction(Base):
    """The Record of Action: what the safeguarding team did, when, and (sensitive) the details."""

    __tablename__ = "concern_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    taken_on: Mapped[date] = mapped_column(Date)
    taken_time: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str | None] = mapped_column(SealedText("concern_actions.note"))
    recorded_by: Mapped[str] = mapped_column(USER_ID)
    recorded_at: Mapped[datetime]


class InitialReview(Base):
    """The DSL's initial review of a concern about sharing nudes (UKCIS); one per concern."""

    __tablename__ = "initial_reviews"
    __table_args__ = (UniqueConstraint("concern_id", name="uq_initial_review_concern"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"))
    conditions: Mapped[list[str]] = mapped_column(JSON)
    established: Mapped[str | None] = mapped_column(SealedText("initial_reviews.established"))
    parents_told: Mapped[str] = mapped_column(String(16))
    in_school_reason: Mapped[str | None] = mapped_column(SealedText("initial_reviews.in_school_reason"))
    recorded_by: Mapped[str] = mapped_column(USER_ID)
    recorded_at: Mapped[datetime]


class ConcernChild(Base):
    """A child named in a concern, keyed so that the same child's other concerns can be found."""

    __tablename__ = "concern_children"
    # By name (a child's chronology), and by concern (the incident log's names; retention's deletes).
    __table_args__ = (Index("ix_concern_children_key", "team_id", "name_key"),
                      Index("ix_concern_children_concern", "concern_id", "position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"))
    position: Mapped[int] = mapped_column(Integer)
    name_key: Mapped[str] = mapped_column(String(200))  # <key id>:<HMAC of the folded name>: see storage.crypto
    # The child as the report names them, for the incident log, which so never opens the report itself. Null
    # only where migration 0020 found no child at this position in the report (the bot never writes one so).
    name: Mapped[str | None] = mapped_column(SealedText("concern_children.name"))
    year_group: Mapped[str | None] = mapped_column(String(32))  # the form's value (year_7), as in the report


class Deadline(Base):
    """A statutory clock on a concern (LADO, ICO): when it falls due, when met, and each reminder sent."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("concern_id", "kind", name="uq_deadline_kind"),
                      Index("ix_deadlines_open", "met_at", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"))
    kind: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    met_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    overdue_reminded_at: Mapped[datetime | None]


class ConcernEvent(Base):
    """The append-only log of everything that happened to a concern: no update, no delete. Each concern's
    events are a hash chain (seq 1, 2, 3...; storage.events), so an edit behind the bot's back shows."""

    __tablename__ = "concern_events"
    __table_args__ = (UniqueConstraint("concern_id", "seq", name="uq_concern_event_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    # Found by uq_concern_event_seq, which begins with it: a second index would only slow each append.
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(USER_ID)
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Notification(Base):
    """Where a concern was announced, so later changes can update the same message."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("concern_id", "audience", name="uq_notification_audience"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"))
    audience: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    message_ts: Mapped[str] = mapped_column(String(32))


class OutboxMessage(Base):
    """A notification to send. Stored in the same transaction as the change it announces."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe"),
        Index("ix_outbox_due", "sent_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    kind: Mapped[str] = mapped_column(String(32))
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"))
    recipient_id: Mapped[str | None] = mapped_column(String(32))
    # Only ids and flags, never content: what a message is about when there is no concern yet.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Lower goes first: a concern's alert never waits behind a staff-wide broadcast.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


from storage.models_yearly import (  # noqa: E402,F401 - the yearly cycle's tables, importable from here too
    AupCampaign, AupRequest, AupVersion, Policy, PolicyReview,
)
from storage.models_chain import ConcernChain  # noqa: E402,F401 - each event chain's head, importable from here
from storage import installs as _installs  # noqa: E402,F401 - its tables on Base, so Base.metadata is whole
from storage import keys as _keys  # noqa: E402,F401 - encryption_keys on Base
from storage import retention as _retention  # noqa: E402,F401 - retention_log and retention_settings on Base
from storage import seen_events as _seen_events  # noqa: E402,F401 - seen_events on Base
