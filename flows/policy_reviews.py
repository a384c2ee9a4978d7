"""The school's policy register: when each policy is next reviewed, and when its owner is reminded.

Seeds 000 and 001: "The online safety policy will be reviewed annually or when any significant changes
occur"; some schools' governors review it triennially. The owner and the online-safety governor are reminded
30 days and 7 days before, on the day, and weekly while it is overdue. A reminder missed while the bot was
down goes late, once: each reminder has a window, and a window's reminder is sent at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flows.forms import Form, Kind, Question, Step
from flows.school import Cadence

CADENCE_YEARS: dict[Cadence, int] = {Cadence.ANNUAL: 1, Cadence.BIENNIAL: 2, Cadence.TRIENNIAL: 3}


class ReviewStage(StrEnum):
    MONTH_BEFORE = "30_days"
    WEEK_BEFORE = "7_days"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class StageDue:
    stage: ReviewStage
    weeks_overdue: int = 0  # 1, 2, … for each week past the date

    @property
    def key(self) -> str:
        return f"{self.stage.value}-{self.weeks_overdue}" if self.stage is ReviewStage.OVERDUE else self.stage.value


def next_review_after(reviewed_on: date, cadence: Cadence) -> date:
    """The same date N years on (29 February becomes 28 February)."""
    years = CADENCE_YEARS[cadence]
    try:
        return reviewed_on.replace(year=reviewed_on.year + years)
    except ValueError:
        return reviewed_on.replace(year=reviewed_on.year + years, day=28)


def review_stage(next_review: date, today: date) -> StageDue | None:
    """Which reminder's window `today` falls in, if any."""
    days_left = (next_review - today).days
    if days_left > 30:
        return None
    if days_left > 7:
        return StageDue(ReviewStage.MONTH_BEFORE)
    if days_left > 0:
        return StageDue(ReviewStage.WEEK_BEFORE)
    weeks = -days_left // 7
    return StageDue(ReviewStage.DUE) if weeks == 0 else StageDue(ReviewStage.OVERDUE, weeks)


def is_overdue(next_review: date, today: date) -> bool:
    return today > next_review


def when_due(next_review: date, today: date) -> str:
    """'in 30 days', 'in 7 days', 'today', '2 weeks overdue': words for the reminder."""
    days_left = (next_review - today).days
    if days_left > 1:
        return f"in {days_left} days"
    if days_left == 1:
        return "tomorrow"
    if days_left == 0:
        return "today"
    overdue = -days_left
    if overdue < 7:
        return f"{overdue} day{'s' if overdue > 1 else ''} overdue"
    weeks = overdue // 7
    return f"{weeks} week{'s' if weeks > 1 else ''} overdue"


REVIEW_FORM = Form(id="policy_review", title="Mark reviewed", submit_label="Mark reviewed", steps=(
    Step(id="review", title="Mark reviewed",
         intro="Marking it reviewed records who and when, and sets the next review date from its cadence.",
         questions=(Question("reviewed_on", "Reviewed on", Kind.DATE),
                    Question("note", "Note (optional): what changed, who approved it", Kind.LONG_TEXT,
                             required=False, max_length=2000))),
))
