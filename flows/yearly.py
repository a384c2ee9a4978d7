"""The yearly cycle as one rule: given a school's state and a day, what is due.

The scheduler's daily run and `concernbot reminders --dry-run` both ask `due_on`; the run then does what is
due (each item carries a key, so it is done once however often it is asked), and the dry run imagines it
done with `assume_done` and asks about the next day. Nothing is due on a day the school is shut (weekends,
England and Wales bank holidays, the school's closure days), so no reminder arrives then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from flows.aup import AupRules, academic_year, annual_start, chaser_due
from flows.governors_report import ReportPeriod, report_due
from flows.policy_reviews import StageDue, review_stage
from flows.school_time import SchoolDay


@dataclass(frozen=True)
class PendingSignature:
    request_id: int
    user_id: str
    requested_on: date
    last_contact_on: date
    reminders_sent: int


@dataclass(frozen=True)
class PolicyState:
    id: int
    title: str
    owner_user_id: str | None
    next_review: date


@dataclass(frozen=True)
class YearlyState:
    school_day: SchoolDay
    installed_on: date  # the school's set-up date: nothing is owed for years before it
    rules: AupRules = AupRules()
    report_dates: tuple[str, ...] = ()
    current_version: str | None = None  # the AUP version in force, if one has been loaded
    last_round_on: date | None = None  # when the latest signing round (annual or a new version) went out
    pending: tuple[PendingSignature, ...] = ()  # asked, not signed, not replaced by a newer request
    policies: tuple[PolicyState, ...] = ()
    done: frozenset[str] = field(default_factory=frozenset)  # keys already acted on (the dry run's memory)


class DueKind(StrEnum):
    ANNUAL_ROUND = "annual_round"
    AUP_REMINDER = "aup_reminder"
    AUP_WEEKLY_LIST = "aup_weekly_list"
    POLICY_REMINDER = "policy_reminder"
    GOVERNORS_REPORT = "governors_report"


@dataclass(frozen=True)
class Due:
    kind: DueKind
    key: str  # unique within the school: doing it twice is doing it once
    year: int | None = None  # ANNUAL_ROUND
    request: PendingSignature | None = None  # AUP_REMINDER
    number: int = 0  # AUP_REMINDER: 1 for the first reminder
    unsigned: int = 0  # AUP_WEEKLY_LIST
    policy: PolicyState | None = None  # POLICY_REMINDER
    stage: StageDue | None = None  # POLICY_REMINDER
    period: ReportPeriod | None = None  # GOVERNORS_REPORT


def _annual(state: YearlyState, day: date) -> list[Due]:
    """Due from the first school day of the school year, unless a round (a new version's, say) has gone out
    since then: everyone has been asked this year already."""
    year = academic_year(day, state.rules.annual_on)
    starts = annual_start(year, state.rules.annual_on, state.school_day)
    asked_this_year = state.last_round_on is not None and state.last_round_on >= starts
    if state.current_version is None or asked_this_year or day < starts or starts < state.installed_on:
        return []
    return [Due(DueKind.ANNUAL_ROUND, f"aup-annual:{year}", year=year)]


def _reminders(state: YearlyState, day: date) -> list[Due]:
    return [Due(DueKind.AUP_REMINDER, f"aup-reminder:{p.request_id}:{p.reminders_sent + 1}", request=p,
                number=p.reminders_sent + 1)
            for p in state.pending
            if chaser_due(p.last_contact_on, p.reminders_sent, day, state.rules.reminder_limit)]


def _weekly_list(state: YearlyState, day: date) -> list[Due]:
    """Once a school week, on its first school day, while anyone asked a week or more ago has not signed."""
    waiting = [p for p in state.pending if (day - p.requested_on).days >= 7]
    if not waiting:
        return []
    iso = day.isocalendar()
    return [Due(DueKind.AUP_WEEKLY_LIST, f"aup-weekly:{iso.year}-W{iso.week:02d}", unsigned=len(state.pending))]


def _policies(state: YearlyState, day: date) -> list[Due]:
    dues = []
    for policy in state.policies:
        stage = review_stage(policy.next_review, day)
        if stage is not None:
            dues.append(Due(DueKind.POLICY_REMINDER, f"policy:{policy.id}:{policy.next_review}:{stage.key}",
                            policy=policy, stage=stage))
    return dues


def _report(state: YearlyState, day: date) -> list[Due]:
    period = report_due(day, state.report_dates, state.school_day, state.installed_on)
    return [Due(DueKind.GOVERNORS_REPORT, f"governors-report:{period.key}", period=period)] if period else []


def due_on(state: YearlyState, day: date) -> list[Due]:
    """Everything due on `day` that has not been done; nothing on a day the school is shut."""
    if not state.school_day.is_open_on(day):
        return []
    dues = _annual(state, day) + _reminders(state, day) + _weekly_list(state, day) + _policies(state, day) \
        + _report(state, day)
    return [d for d in dues if d.key not in state.done]


def assume_done(state: YearlyState, dues: list[Due], day: date, staff: tuple[str, ...] = ()) -> YearlyState:
    """The state after `dues` were done on `day`, nobody having signed or reviewed meanwhile (the dry run).

    `staff` stands for everyone an annual round would ask (the dry run may not know the roster).
    """
    pending = {p.request_id: p for p in state.pending}
    last_round_on = state.last_round_on
    for due in dues:
        if due.kind is DueKind.AUP_REMINDER and due.request is not None:
            pending[due.request.request_id] = replace(due.request, reminders_sent=due.number, last_contact_on=day)
        elif due.kind is DueKind.ANNUAL_ROUND and due.year is not None:
            last_round_on = day
            start = -1 - 10_000 * due.year  # imagined request ids, apart from real ones
            pending = {start - i: PendingSignature(start - i, user, day, day, 0) for i, user in enumerate(staff)}
    return replace(state, pending=tuple(pending.values()), last_round_on=last_round_on,
                   done=state.done | {d.key for d in dues})
