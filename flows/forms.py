"""A guided form as data: steps of questions, guidance shown when it matters, branching and validation.

The bot renders a `Form` as a sequence of modal steps; everything it needs to decide what comes next,
what is shown, and whether an answer is acceptable lives here, so it can be tested without Slack.
Answers are plain strings keyed by question id (dates ISO `YYYY-MM-DD`, times `HH:MM`), so a draft
can be stored as JSON exactly as it was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum

Answers = Mapping[str, str | None]
Predicate = Callable[[Answers], bool]

# Slack's own limit for a plain_text_input; longer answers could not be typed anyway.
SLACK_TEXT_LIMIT = 3000


def always(_: Answers) -> bool:
    return True


def answer_is(question_id: str, *values: str) -> Predicate:
    """A predicate for branching and guidance: true when the question's answer is one of `values`."""

    def predicate(answers: Answers) -> bool:
        return answers.get(question_id) in values

    return predicate


class Kind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SELECT = "select"
    RADIO = "radio"
    DATE = "date"
    TIME = "time"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    kind: Kind
    required: bool = True
    choices: tuple[Choice, ...] = ()
    hint: str | None = None
    placeholder: str | None = None
    max_length: int = SLACK_TEXT_LIMIT

    def choice_label(self, value: str | None) -> str | None:
        return next((c.label for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class Guidance:
    """Policy guidance shown on a step when `when` holds for the answers given so far."""

    text: str
    when: Predicate = always
    warning: bool = False


# A cross-field check: given the step's answers and the school's local "now", return {question_id: error}.
StepCheck = Callable[[Answers, datetime], dict[str, str]]


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    questions: tuple[Question, ...] = ()
    intro: str | None = None
    guidance: tuple[Guidance, ...] = ()
    applies: Predicate = always
    check: StepCheck | None = None

    @property
    def is_review(self) -> bool:
        return not self.questions

    def guidance_for(self, answers: Answers) -> list[Guidance]:
        return [g for g in self.guidance if g.when(answers)]


@dataclass(frozen=True)
class Position:
    number: int
    total: int

    def __str__(self) -> str:
        return f"Step {self.number} of {self.total}"


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    steps: tuple[Step, ...]
    submit_label: str = "Send"
    _index: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {s.id: s for s in self.steps}
        if len(index) != len(self.steps):
            raise ValueError(f"form {self.id!r} has two steps with the same id")
        question_ids = [q.id for s in self.steps for q in s.questions]
        if len(set(question_ids)) != len(question_ids):
            raise ValueError(f"form {self.id!r} has two questions with the same id")
        object.__setattr__(self, "_index", index)

    @property
    def first_step(self) -> Step:
        return self.steps[0]

    def step(self, step_id: str) -> Step:
        try:
            return self._index[step_id]
        except KeyError:
            raise KeyError(f"form {self.id!r} has no step {step_id!r}") from None

    def path(self, answers: Answers) -> list[Step]:
        """The steps that apply given the answers so far, in order."""
        return [s for s in self.steps if s.applies(answers)]

    def next_step(self, current: str, answers: Answers) -> Step | None:
        path = self.path(answers)
        ids = [s.id for s in path]
        if current not in ids:
            return path[0] if path else None
        i = ids.index(current)
        return path[i + 1] if i + 1 < len(path) else None

    def previous_step(self, current: str, answers: Answers) -> Step | None:
        path = self.path(answers)
        ids = [s.id for s in path]
        if current not in ids:
            return None
        i = ids.index(current)
        return path[i - 1] if i > 0 else None

    def position(self, step_id: str, answers: Answers) -> Position:
        ids = [s.id for s in self.path(answers)]
        number = ids.index(step_id) + 1 if step_id in ids else 1
        return Position(number, len(ids))

    def questions(self, answers: Answers) -> list[Question]:
        return [q for s in self.path(answers) for q in s.questions]

    def validate(self, step_id: str, values: Answers, now_local: datetime) -> dict[str, str]:
        """Errors for one step's answers, keyed by question id: empty when the step is acceptable."""
        step = self.step(step_id)
        errors: dict[str, str] = {}
        for question in step.questions:
            message = validate_answer(question, values.get(question.id), now_local.date())
            if message:
                errors[question.id] = message
        if not errors and step.check is not None:
            errors.update(step.check(values, now_local))
        return errors

    def missing(self, answers: Answers, now_local: datetime) -> list[Step]:
        """Steps on the path whose answers do not validate: a form is complete when this is empty."""
        return [
            s for s in self.path(answers) if s.questions and self.validate(s.id, answers, now_local)
        ]


def validate_answer(question: Question, value: str | None, today: date) -> str | None:
    """One plain sentence saying what is wrong with an answer, or None."""
    text = (value or "").strip()
    if not text:
        return "Please answer this question." if question.required else None
    if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
        if len(value or "") > question.max_length:
            return f"Please keep this under {question.max_length} characters (it is {len(value or '')})."
    elif question.kind in (Kind.SELECT, Kind.RADIO):
        if question.choice_label(text) is None:
            return "Please choose one of the options."
    elif question.kind is Kind.DATE:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return "Please pick a date from the calendar."
        if day > today:
            return "The date can't be in the future."
    elif question.kind is Kind.TIME:
        try:
            time.fromisoformat(text)
        except ValueError:
            return "Please pick a time, like 09:30."
    return None
