"""The staff Acceptable Use Policy: its versions, who must sign it, and when they are asked again.

Seeds 000 and 001: all staff, volunteers and contractors "read, understand, sign and adhere to the school
staff Acceptable Use Agreement … and understand any updates annually. The AUP is signed by new staff on
induction." So everyone is asked at the start of each academic year and whenever the text changes, and a
new member of the workspace on their first day. Whoever has not signed is reminded once a week, politely,
a limited number of times; the head gets a weekly list.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows.school_time import SchoolDay

CHASE_EVERY = timedelta(days=7)
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


class Reason(StrEnum):
    """Why someone is asked to sign: the annual round, a new version, or joining the school."""

    ANNUAL = "annual"
    NEW_VERSION = "new_version"
    JOINER = "joiner"

    @property
    def label(self) -> str:
        return {Reason.ANNUAL: "the start of the school year", Reason.NEW_VERSION: "a new version",
                Reason.JOINER: "joining the school"}[self]


def check_month_day(value: str) -> str:
    """'09-01' for 1 September: a date that comes round every year."""
    value = value.strip()
    match = _MONTH_DAY.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a month and day like 09-01")
    month, day = int(match.group(1)), int(match.group(2))
    date(2024, month, day)  # a leap year, so 02-29 is allowed; 02-30 raises
    return value


def on_month_day(year: int, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    if (month, day) == (2, 29):
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


class AupDocument(BaseModel):
    """One version of the AUP: its text, or a link to it, and what changed since the last."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=64)
    title: str = Field(default="Staff Acceptable Use Policy", min_length=1, max_length=150)
    text: str | None = Field(default=None, max_length=60_000)
    url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    changes: str | None = Field(default=None, max_length=1_000)

    @field_validator("text", "changes")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _text_or_link(self) -> AupDocument:
        if (self.text is None) == (self.url is None):
            raise ValueError("give the AUP either as text or as a url, not both and not neither")
        return self

    @property
    def content_hash(self) -> str:
        """What a signature is bound to: the words themselves (or the link), not the version label."""
        body = ("text:" + "\n".join(line.rstrip() for line in self.text.strip().splitlines())) if self.text \
            else f"url:{self.url}"
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AupRules(BaseModel):
    """The school's choices for the yearly cycle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    annual_on: str = "09-01"  # the round starts on the first school day on or after this date
    reminder_limit: int = Field(default=4, ge=0, le=10)  # weekly reminders at most, then only the head's list
    include_guests: bool = False  # guests (single- and multi-channel) are not staff unless the school says so

    _month_day = field_validator("annual_on")(check_month_day)


class Member(BaseModel):
    """A member of the workspace, as much as deciding 'is this a member of staff?' needs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    deleted: bool = False
    is_bot: bool = False
    is_app_user: bool = False
    is_restricted: bool = False  # a multi-channel guest
    is_ultra_restricted: bool = False  # a single-channel guest


SLACKBOT = "USLACKBOT"


def is_staff(member: Member, rules: AupRules) -> bool:
    if member.deleted or member.is_bot or member.is_app_user or member.id == SLACKBOT:
        return False
    return rules.include_guests or not (member.is_restricted or member.is_ultra_restricted)


def academic_year(day: date, annual_on: str) -> int:
    """The year in which the school year containing `day` began (2026 for 2026/27)."""
    return day.year if day >= on_month_day(day.year, annual_on) else day.year - 1


def annual_start(year: int, annual_on: str, school_day: SchoolDay) -> date:
    """The first school day on or after the annual date: the default is the first school day of September."""
    return school_day.first_open_day(on_month_day(year, annual_on))


def chaser_due(last_contact_on: date, reminders_sent: int, today: date, limit: int) -> bool:
    """A reminder is due a week after the last message, until `limit` reminders have gone.

    Counting from the last message (not from the start) means that after the bot was down for a fortnight
    one reminder goes, not two in a row.
    """
    return reminders_sent < limit and today >= last_contact_on + CHASE_EVERY
