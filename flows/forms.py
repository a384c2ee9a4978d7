"""A guided form as data: steps of questions, guidance shown when it matters, branching and validation.

The bot renders a `Form` as a sequence of modal steps; everything it needs to decide what comes next,
what is shown, and whether an answer is acceptable lives here, so it can be tested without Slack.
Answers are plain strings keyed by question id (dates ISO `YYYY-MM-DD`, times `HH:MM`; a list of
strings for checkboxes), so a draft can be stored as JSON exactly as it was typed. Branching and
guidance are predicates over the answers and the school's date today.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import StrEnum

Answer = str | list[str] | None
Answers = Mapping[str, Answer]
Predicate = Callable[[Answers, date], bool]

# Slack's own limit for a plain_text_input; longer answers could not be typed anyway.
SLACK_TEXT_LIMIT = 3000


def always(_answers: Answers, _today: date) -> bool:
    return True


def answer_is(question_id: str, *values: str | None) -> Predicate:
    """A predicate for branching and guidance: true when the question's answer is one of `values`."""

    def predicate(answers: Answers, _today: date) -> bool:
        return answers.get(question_id) in values

    return predicate


def answer_includes(question_id: str, *values: str) -> Predicate:
    """True when a checkbox question's answer includes any of `values`."""

    def predicate(answers: Answers, _today: date) -> bool:
        chosen = answers.get(question_id) or []
        return isinstance(chosen, list) and any(v in chosen for v in values)

    return predicate


def any_of(*predicates: Predicate) -> Predicate:
    def predicate(answers: Answers, today: date) -> bool:
        return any(p(answers, today) for p in predicates)

    return predicate


class Kind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SELECT = "select"
    RADIO = "radio"
    DATE = "date"
    TIME = "time"
    CHECKBOXES = "checkboxes"
    PERSON = "person"  # a member of the workspace, by Slack user id
    PEOPLE = "people"  # several members of the workspace
    CHANNEL = "channel"  # a channel, by id


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # at most 75 characters (Slack's limit); say more in the description
    description: str | None = None  # shown under radio buttons and checkboxes


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
    future: bool = False  # a date that may be after today (a next review date); most may not

    def numbered(self, n: int, of: int, noun: str) -> Question:
        """This question for the n-th of several (child 2's name, say): its own id and label."""
        label = f"{noun} {n}: {self.label[0].lower()}{self.label[1:]}" if of > 1 else self.label
        return replace(self, id=f"{self.id}_{n}", label=label)

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
class Repeat:
    """Ask a step's questions once for each of several things, as many as an earlier answer says."""

    count_question: str
    noun: str
    maximum: int

    def count(self, answers: Answers) -> int:
        raw = answers.get(self.count_question)
        try:
            return max(1, min(int(raw), self.maximum)) if isinstance(raw, str) else 1
        except ValueError:
            return 1


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    questions: tuple[Question, ...] = ()
    intro: str | None = None
    guidance: tuple[Guidance, ...] = ()
    applies: Predicate = always
    check: StepCheck | None = None
    repeat: Repeat | None = None
    review: bool = False  # shows every answer on the path, to check before sending

    @property
    def is_review(self) -> bool:
        return self.review

    def questions_for(self, answers: Answers) -> tuple[Question, ...]:
        if self.repeat is None:
            return self.questions
        n = self.repeat.count(answers)
        return tuple(q.numbered(i, n, self.repeat.noun) for i in range(1, n + 1) for q in self.questions)

    def guidance_for(self, answers: Answers, today: date) -> list[Guidance]:
        return [g for g in self.guidance if g.when(answers, today)]


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
        question_ids = [q.id for s in self.steps for q in s.questions_for({})]
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

    def path(self, answers: Answers, today: date) -> list[Step]:
        """The steps that apply given the answers so far, in order."""
        return [s for s in self.steps if s.applies(answers, today)]

    def next_step(self, current: str, answers: Answers, today: date) -> Step | None:
        path = self.path(answers, today)
        ids = [s.id for s in path]
        if current not in ids:
            return path[0] if path else None
        i = ids.index(current)
        return path[i + 1] if i + 1 < len(path) else None

    def previous_step(self, current: str, answers: Answers, today: date) -> Step | None:
        path = self.path(answers, today)
        ids = [s.id for s in path]
        if current not in ids:
            return None
        i = ids.index(current)
        return path[i - 1] if i > 0 else None

    def position(self, step_id: str, answers: Answers, today: date) -> Position:
        ids = [s.id for s in self.path(answers, today)]
        number = ids.index(step_id) + 1 if step_id in ids else 1
        return Position(number, len(ids))

    def questions(self, answers: Answers, today: date) -> list[Question]:
        return [q for s in self.path(answers, today) for q in s.questions_for(answers)]

    def validate(self, step_id: str, values: Answers, now_local: datetime,
                 earlier: Answers | None = None) -> dict[str, str]:
        """Errors for one step's answers, keyed by question id: empty when the step is acceptable.

        `earlier` holds answers from previous steps that shape this one (how many children, say).
        """
        step = self.step(step_id)
        errors: dict[str, str] = {}
        for question in step.questions_for({**(earlier or {}), **values}):
            message = validate_answer(question, values.get(question.id), now_local.date())
            if message:
                errors[question.id] = message
        if not errors and step.check is not None:
            errors.update(step.check({**(earlier or {}), **values}, now_local))
        return errors

    def missing(self, answers: Answers, now_local: datetime) -> list[Step]:
        """Steps on the path whose answers do not validate: a form is complete when this is empty."""
        return [
            s for s in self.path(answers, now_local.date())
            if s.questions and self.validate(s.id, answers, now_local, earlier=answers)
        ]


def validate_answer(question: Question, value: Answer, today: date) -> str | None:
    """One plain sentence saying what is wrong with an answer, or None."""
    if question.kind is Kind.CHECKBOXES:
        chosen = value if isinstance(value, list) else []
        if not chosen:
            return "Please tick at least one." if question.required else None
        if any(question.choice_label(v) is None for v in chosen):
            return "Please choose from the options."
        return None
    if question.kind is Kind.PEOPLE:
        chosen = value if isinstance(value, list) else []
        return "Please choose at least one person." if question.required and not chosen else None
    if isinstance(value, list):
        return "Please give one answer."
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
        if day > today and not question.future:
            return "The date can't be in the future."
    elif question.kind is Kind.TIME:
        try:
            time.fromisoformat(text)
        except ValueError:
            return "Please pick a time, like 09:30."
    return None
