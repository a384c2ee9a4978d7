"""A school's set-up, as written in its YAML file and as resolved to Slack ids.

`SchoolFile` is what a person writes (people by Slack user id or by email, the channel by id or #name);
`SchoolSetup` is the same after the bot has resolved those through the Web API, ready to be stored.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows.aup import AupDocument, AupRules, check_month_day
from flows.concern import Role
from flows.governors_report import DEFAULT_REPORT_DATES

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Cadence(StrEnum):
    ANNUAL = "annual"
    BIENNIAL = "biennial"
    TRIENNIAL = "triennial"


def check_person_ref(value: str) -> str:
    value = value.strip()
    if _USER_ID.match(value) or _EMAIL.match(value):
        return value
    raise ValueError(f"{value!r} is neither a Slack user id (like U012AB3CD) nor an email address")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name; use one like Europe/London") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolInfo(_Strict):
    name: str = Field(min_length=1, max_length=200)
    team_id: str | None = Field(default=None, pattern=r"^[TE][A-Z0-9]{2,}$")
    timezone: str = "Europe/London"
    escalation_minutes: int = Field(default=30, ge=5, le=480)
    day_starts: time = time(8, 0)
    day_ends: time = time(17, 0)
    draft_nudge_at: time = time(15, 30)
    closure_days: list[date] = []  # INSET days and the like: not school time, not a working day
    governors_report_dates: list[str] = list(DEFAULT_REPORT_DATES)  # MM-DD, once a term
    admins: list[str] = []  # besides the head and the workspace's admins: who may change settings in Slack

    _tz = field_validator("timezone")(check_timezone)

    @field_validator("admins")
    @classmethod
    def _admins(cls, values: list[str]) -> list[str]:
        return [check_person_ref(v) for v in values]

    @field_validator("governors_report_dates")
    @classmethod
    def _report_dates(cls, values: list[str]) -> list[str]:
        return sorted({check_month_day(v) for v in values})

    @model_validator(mode="after")
    def _day(self) -> SchoolInfo:
        if self.day_ends <= self.day_starts:
            raise ValueError("day_ends must be later than day_starts")
        if not self.day_starts <= self.draft_nudge_at <= self.day_ends:
            raise ValueError("draft_nudge_at must fall within the school day")
        return self


class PeopleFile(_Strict):
    dsl: str
    deputy_dsls: list[str] = []
    headteacher: str
    chair_of_governors: str | None = None
    online_safety_governor: str | None = None
    dpo: str | None = None

    @field_validator("dsl", "headteacher", "chair_of_governors", "online_safety_governor", "dpo")
    @classmethod
    def _person(cls, value: str | None) -> str | None:
        return None if value is None else check_person_ref(value)

    @field_validator("deputy_dsls")
    @classmethod
    def _people(cls, values: list[str]) -> list[str]:
        return [check_person_ref(v) for v in values]

    def by_role(self) -> list[tuple[Role, str]]:
        pairs: list[tuple[Role, str]] = [(Role.DSL, self.dsl)]
        pairs += [(Role.DEPUTY_DSL, d) for d in self.deputy_dsls]
        pairs.append((Role.HEADTEACHER, self.headteacher))
        for role, ref in ((Role.CHAIR_OF_GOVERNORS, self.chair_of_governors),
                          (Role.ONLINE_SAFETY_GOVERNOR, self.online_safety_governor),
                          (Role.DPO, self.dpo)):
            if ref:
                pairs.append((role, ref))
        return pairs


class ContactsFile(_Strict):
    lado_email: str | None = None
    # Told by email (reference only) when a concern's alert has not reached Slack for a while: IT or the office.
    fallback_email: str | None = None
    # How the LADO or an outside chair reaches the case manager, e.g. "the school office, 01234 567890".
    office: str | None = Field(default=None, max_length=200)

    @field_validator("lado_email", "fallback_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value.strip()):
            raise ValueError(f"{value!r} is not an email address")
        return value.strip() if value else None


class PolicyFile(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1, max_length=200)
    owner: str | None = None
    cadence: Cadence = Cadence.ANNUAL
    next_review: date

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return None if value is None else check_person_ref(value)


class AupFile(AupRules):
    """The staff AUP's yearly cycle (AupRules), who hears who has not signed, and the version in force."""

    report_to: list[str] = []  # who gets the weekly list of who has not signed; none: the headteacher
    document: AupDocument | None = None  # or load one with `concernbot aup publish`

    @field_validator("report_to")
    @classmethod
    def _people(cls, values: list[str]) -> list[str]:
        return [check_person_ref(v) for v in values]


class SchoolFile(_Strict):
    school: SchoolInfo
    dsl_channel: str
    people: PeopleFile
    contacts: ContactsFile = ContactsFile()
    policies: list[PolicyFile] = []
    aup: AupFile = AupFile()

    @field_validator("dsl_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        value = value.strip()
        if _CHANNEL_ID.match(value) or re.match(r"^#[a-z0-9_\-]{1,80}$", value):
            return value
        raise ValueError(f"{value!r} is neither a channel id (like C012AB3CD) nor a #channel-name")

    @field_validator("policies")
    @classmethod
    def _unique_keys(cls, values: list[PolicyFile]) -> list[PolicyFile]:
        keys = [p.key for p in values]
        if len(set(keys)) != len(keys):
            raise ValueError("two policies share a key; each policy needs its own")
        return values


class Person(_Strict):
    """A person resolved: a Slack user in the workspace, or (for outside contacts) only an email."""

    user_id: str | None = None
    email: str | None = None
    name: str | None = None


class PolicySetup(_Strict):
    key: str
    title: str
    owner_user_id: str | None
    cadence: Cadence
    next_review: date


class SchoolSetup(_Strict):
    team_id: str
    name: str
    timezone: str
    escalation_minutes: int = 30
    day_starts: time = time(8, 0)
    day_ends: time = time(17, 0)
    draft_nudge_at: time = time(15, 30)
    closure_days: list[date] = []
    dsl_channel_id: str
    dsl_channel_name: str
    lado_email: str | None
    office_contact: str | None = None
    fallback_email: str | None = None
    people: list[tuple[Role, Person]]
    policies: list[PolicySetup]
    governors_report_dates: list[str] = list(DEFAULT_REPORT_DATES)
    aup_rules: AupRules = AupRules()
    aup_report_to: list[str] = []  # user ids
    aup_document: AupDocument | None = None
    admins: list[str] = []  # user ids
