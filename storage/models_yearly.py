"""The yearly cycle's tables: the policy register and its reviews, AUP versions, signing rounds and requests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.crypto import SealedText
from storage.models import TEAM_ID, USER_ID, Base


class Policy(Base):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("team_id", "key", name="uq_policy_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    owner_user_id: Mapped[str | None] = mapped_column(USER_ID)
    cadence: Mapped[str] = mapped_column(String(16))
    next_review: Mapped[date] = mapped_column(Date)
    file_next_review: Mapped[date | None] = mapped_column(Date)  # as the set-up file last said
    last_reviewed_on: Mapped[date | None] = mapped_column(Date)
    last_reviewed_by: Mapped[str | None] = mapped_column(USER_ID)


class PolicyReview(Base):
    """A review of a policy, marked in Slack: who, when, an optional note, and the next date it set."""

    __tablename__ = "policy_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(TEAM_ID)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewed_by: Mapped[str] = mapped_column(USER_ID)
    note: Mapped[str | None] = mapped_column(SealedText("policy_reviews.note"))
    next_review: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]


class AupVersion(Base):
    """One version of the staff AUP. A signature is bound to its content hash."""

    __tablename__ = "aup_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(150))
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    changes: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(USER_ID)


class AupCampaign(Base):
    """A round of asking everyone to sign: the annual one, or one for a new version."""

    __tablename__ = "aup_campaigns"
    __table_args__ = (UniqueConstraint("team_id", "key", name="uq_aup_campaign_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"))
    key: Mapped[str] = mapped_column(String(100))  # aup-annual:2026, or version:<hash>
    reason: Mapped[str] = mapped_column(String(16))
    version_id: Mapped[int] = mapped_column(ForeignKey("aup_versions.id"))
    started_at: Mapped[datetime]
    starts_on: Mapped[date] = mapped_column(Date)  # the school's date its messages go out (the next opening)
    started_by: Mapped[str | None] = mapped_column(USER_ID)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None]  # when the last request went out


class AupRequest(Base):
    """One person asked to sign one version: delivered, reminded, signed (who, which hash, when)."""

    __tablename__ = "aup_requests"
    __table_args__ = (UniqueConstraint("key", name="uq_aup_request_key"),
                      Index("ix_aup_requests_team_user", "team_id", "user_id"),
                      Index("ix_aup_requests_pending", "team_id", "signed_at", "superseded_at"),
                      Index("ix_aup_requests_undelivered", "campaign_id", "delivered_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("schools.team_id"))
    key: Mapped[str] = mapped_column(String(200))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("aup_campaigns.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("aup_versions.id"))
    user_id: Mapped[str] = mapped_column(USER_ID)
    reason: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    requested_on: Mapped[date] = mapped_column(Date)  # the school's date, for weekly reminders
    delivered_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_contact_on: Mapped[date] = mapped_column(Date)
    signed_at: Mapped[datetime | None]
    signed_hash: Mapped[str | None] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None]  # a newer request replaced this one before it was signed
