"""The staff member's Record of Concern (seed 002), as a guided form, and its typed answers.

Every field of the E-Safety Record of Concern is here, with the policies' guidance shown as soon as an
answer calls for it: immediate risk (act now), sharing nudes (never view, copy or ask for the image),
suspected illegal material and unsuitable sites reached in school (switch the screen off, note the
device and username), and the same-day rule (an earlier incident asks why it is recorded late).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from flows.concern import Category, SubjectKind, Urgency
from flows.forms import (
    Answers, Choice, Form, Guidance, Kind, Predicate, Question, Repeat, Step, answer_includes, answer_is,
    any_of,
)

MAX_CHILDREN = 6


class Involvement(StrEnum):
    ILLEGAL_MATERIAL = "illegal_material"
    UNSUITABLE_SITE = "unsuitable_site"


YEAR_GROUPS: tuple[Choice, ...] = (
    Choice("nursery", "Nursery"),
    Choice("reception", "Reception"),
    *(Choice(f"year_{n}", f"Year {n}") for n in range(1, 14)),
    Choice("unknown", "Not known"),
)
YEAR_GROUP_LABELS = {c.value: c.label for c in YEAR_GROUPS}

IMMEDIATE_RISK_GUIDANCE = (
    "*A child is at immediate risk of harm: act now.* Call 999 if they are in danger and find the DSL in "
    "person. The whole safeguarding team and the headteacher have just been paged. Then finish this record."
)
NUDES_GUIDANCE = (
    "*Do not view, copy, forward, print or save the image, and do not ask the child to send it.* "
    "Describe what you were told. This form accepts no pictures or files."
)
ILLEGAL_MATERIAL_GUIDANCE = (
    "*Suspected illegal material: do not view, copy, forward or print it.* Switch the screen off (do not "
    "shut the device down), note the device and the username, and keep the device where nobody can use it "
    "until the DSL takes it. The DSL will report it to the police and the Internet Watch Foundation."
)
UNSUITABLE_SITE_GUIDANCE = (
    "*An unsuitable site was reached in school:* switch the screen off, note the device and the username, "
    "and tell the technical staff so the filtering can be fixed."
)
DISCLOSURE_GUIDANCE = (
    "Write what the child said *in their own words*. To clarify, use only *Tell, Explain, Describe, "
    "Outline*, and ask no further questions. Include who, what, where and when."
)
LATE_INTRO = (
    "Concerns should be recorded the day they happen. This one happened earlier, so please say why it is "
    "being recorded now. The safeguarding team will see that it was recorded late."
)

ADULT_GUIDANCE = (
    "*A concern about an adult:* keep it confidential. Do not investigate, do not approach or tell the "
    "person, and do not discuss it with colleagues. It goes only to the person the policy names (for a concern "
    "about the headteacher, the chair of governors and the LADO), never to the person it is about."
)
THRESHOLD_CHOICES = (
    Choice("harm", "An allegation of harm",
           "Harmed a child, an offence against a child, or may pose a risk to children"),
    Choice("low_level", "A low-level concern",
           "Below that threshold, but not in line with the staff code of conduct"),
)
SUBJECT_CHOICES = (
    Choice(SubjectKind.PUPIL, "A pupil (or pupils)"),
    Choice(SubjectKind.STAFF, "A member of staff"),
    Choice(SubjectKind.VOLUNTEER, "A volunteer, contractor, supply teacher or tutor"),
    Choice(SubjectKind.GOVERNOR, "A governor"),
    Choice(SubjectKind.HEADTEACHER, "The headteacher"),
    Choice(SubjectKind.CHAIR, "The chair of governors"),
    Choice(SubjectKind.PARENT_VISITOR, "A parent, carer or visitor"),
    Choice(SubjectKind.NOBODY, "Nobody: a technical or data matter", "Filtering, a lost device, a data breach"),
)
_pupil = answer_is("subject", SubjectKind.PUPIL, None)  # most concerns are about pupils: assume so until told
_adult = answer_is("subject", SubjectKind.STAFF, SubjectKind.VOLUNTEER, SubjectKind.GOVERNOR, SubjectKind.HEADTEACHER,
                  SubjectKind.CHAIR)
_named_adult = answer_is("subject", SubjectKind.STAFF, SubjectKind.VOLUNTEER, SubjectKind.GOVERNOR)
_visitor = answer_is("subject", SubjectKind.PARENT_VISITOR)
_nobody = answer_is("subject", SubjectKind.NOBODY)
_immediate = answer_is("urgency", Urgency.IMMEDIATE)
_nudes = answer_is("category", Category.NUDES)
_illegal = answer_includes("involves", Involvement.ILLEGAL_MATERIAL)
_unsuitable = answer_includes("involves", Involvement.UNSUITABLE_SITE)


def _children_counted(answers: Answers, now_local: datetime) -> dict[str, str]:
    if answers.get("subject") == SubjectKind.PUPIL and not answers.get("child_count"):
        return {"child_count": "Please say how many children it is about."}
    return {}


def happened_before(answers: Answers, today: date) -> bool:
    raw = answers.get("occurred_on")
    try:
        return isinstance(raw, str) and date.fromisoformat(raw) < today
    except ValueError:
        return False


def _not_later_than_now(answers: Answers, now_local: datetime) -> dict[str, str]:
    """An incident can't have happened later today than the time it is now."""
    day, at = answers.get("occurred_on"), answers.get("occurred_time")
    if isinstance(day, str) and isinstance(at, str) and date.fromisoformat(day) == now_local.date():
        if time.fromisoformat(at) > now_local.time().replace(tzinfo=None):
            return {"occurred_time": "That time hasn't happened yet today."}
    return {}


CHILDREN = Repeat("child_count", "Child", MAX_CHILDREN)


def _plausible_birth_dates(answers: Answers, now_local: datetime) -> dict[str, str]:
    errors = {}
    for i in range(1, CHILDREN.count(answers) + 1):
        raw = answers.get(f"date_of_birth_{i}")
        if isinstance(raw, str) and raw:
            age = (now_local.date() - date.fromisoformat(raw)).days // 365
            if not 2 <= age <= 20:
                errors[f"date_of_birth_{i}"] = f"That date of birth makes the child {age}; please check it."
    return errors


def _guidance(*pairs: tuple[str, Predicate]) -> tuple[Guidance, ...]:
    return tuple(Guidance(text, when, warning=True) for text, when in pairs)


CHILD_COUNTS = tuple(Choice(str(n), f"{n} children" if n > 1 else "1 child") for n in range(1, MAX_CHILDREN + 1))
INVOLVEMENT_CHOICES = (
    Choice(Involvement.ILLEGAL_MATERIAL, "Suspected illegal material",
           "Child abuse images, extreme pornography, criminally racist material"),
    Choice(Involvement.UNSUITABLE_SITE, "An unsuitable site or content reached in school",
           "On a school device or the school's network"),
)
URGENT_GUIDANCE = _guidance((IMMEDIATE_RISK_GUIDANCE, _immediate), (NUDES_GUIDANCE, _nudes),
                            (ILLEGAL_MATERIAL_GUIDANCE, _illegal), (UNSUITABLE_SITE_GUIDANCE, _unsuitable))

REPORT_FORM = Form(
    id="report",
    title="Report a concern",
    submit_label="Send to DSL team",
    steps=(
        Step(
            id="about", title="Who it is about", check=_children_counted,
            intro="Only the people the school's policy names will see what you write here.",
            questions=(
                Question("subject", "Who is the concern about?", Kind.RADIO, choices=SUBJECT_CHOICES),
                Question("child_count", "If it is about pupils: how many?", Kind.SELECT, required=False,
                         choices=CHILD_COUNTS),
            ),
        ),
        Step(
            id="adult", title="The adult", applies=_adult, guidance=(Guidance(ADULT_GUIDANCE, warning=True),),
            questions=(
                Question("adult_user", "If they are in this Slack workspace, choose them", Kind.PERSON,
                         required=False),
                Question("adult_name", "Their name", Kind.SHORT_TEXT, max_length=150, required=False,
                         hint="Needed if you could not choose them above (not for the head or the chair)."),
                Question("adult_role", "Their job or role", Kind.SHORT_TEXT, max_length=150, required=False),
                Question("adult_date_of_birth", "Their date of birth, if you know it", Kind.DATE, required=False,
                         hint="Only for how long the record is kept: until their normal retirement age, or 10 "
                              "years, whichever is longer."),
                Question("threshold", "Which is it?", Kind.RADIO, choices=THRESHOLD_CHOICES),
            ),
            check=lambda answers, _now: {} if answers.get("subject") in (SubjectKind.HEADTEACHER, SubjectKind.CHAIR) or
            answers.get("adult_user") or answers.get("adult_name") else
            {"adult_name": "Please choose them above or write their name."},
        ),
        Step(
            id="other_person", title="The parent, carer or visitor", applies=_visitor,
            questions=(
                Question("other_name", "Their name, if known", Kind.SHORT_TEXT, max_length=150, required=False),
                Question("other_relation", "Who are they? (for example: Robin's father, a visiting coach)",
                         Kind.SHORT_TEXT, max_length=200),
            ),
        ),
        Step(
            id="data", title="Personal data", applies=_nobody,
            questions=(
                Question("personal_data", "Is anyone's personal data involved (lost, stolen, or seen by someone "
                                          "who should not have seen it)?", Kind.RADIO,
                         choices=(Choice("yes", "Yes: this may be a personal-data breach"), Choice("no", "No"))),
            ),
        ),
        Step(
            id="concern", title="What kind of concern",
            questions=(
                Question("category", "Which category fits best?", Kind.SELECT,
                         choices=tuple(Choice(c.value, c.label) for c in Category)),
                Question("urgency", "How urgent is it?", Kind.RADIO,
                         choices=tuple(Choice(u.value, u.label) for u in Urgency)),
                Question("involves", "Does it involve either of these?", Kind.CHECKBOXES, required=False,
                         choices=INVOLVEMENT_CHOICES),
            ),
        ),
        Step(
            id="children", title="The child or children", guidance=URGENT_GUIDANCE, applies=_pupil,
            repeat=CHILDREN, check=_plausible_birth_dates,
            questions=(
                Question("child_name", "Name", Kind.SHORT_TEXT, max_length=150,
                         placeholder="First name and surname"),
                Question("year_group", "Year group", Kind.SELECT, choices=YEAR_GROUPS),
                Question("date_of_birth", "Date of birth, if you know it", Kind.DATE, required=False),
            ),
        ),
        Step(
            id="urgent_notes", title="Acting on it", guidance=URGENT_GUIDANCE, applies=lambda a, t: not _pupil(a, t)
            and any(p(a, t) for p in (_immediate, _nudes, _illegal, _unsuitable)),
            intro="Please read this before you go on.",
        ),
        Step(
            id="when", title="When it happened", check=_not_later_than_now,
            questions=(
                Question("occurred_on", "Date of the incident or disclosure", Kind.DATE),
                Question("occurred_time", "Time", Kind.TIME, required=False),
                Question("others_present", "Names of any other staff or children present", Kind.LONG_TEXT,
                         required=False, max_length=1000),
            ),
        ),
        Step(
            id="late", title="Recording it late", intro=LATE_INTRO, applies=happened_before,
            questions=(Question("late_reason", "Why is it being recorded today?", Kind.LONG_TEXT, max_length=1000),),
        ),
        Step(
            id="disclosure", title="What the child said", guidance=(Guidance(DISCLOSURE_GUIDANCE),),
            questions=(
                Question("disclosure", "The child's own words", Kind.LONG_TEXT, required=False,
                         hint="Leave this empty if the child did not tell you anything."),
            ),
        ),
        Step(
            id="account", title="What you know",
            questions=(
                Question("why_concerned", "Why are you concerned?", Kind.LONG_TEXT),
                Question("observed", "What have you observed, and when?", Kind.LONG_TEXT, required=False),
                Question("heard", "What have you heard, and when?", Kind.LONG_TEXT, required=False),
                Question("told", "What have you been told, by whom and when?", Kind.LONG_TEXT, required=False),
                Question("reporter_position", "Your position", Kind.SHORT_TEXT, max_length=100,
                         placeholder="For example: Year 4 class teacher"),
            ),
        ),
        Step(
            id="online", title="Online details",
            guidance=_guidance((NUDES_GUIDANCE, _nudes)),
            questions=(
                Question("online_details", "Websites, apps, games or films involved", Kind.LONG_TEXT,
                         required=False, max_length=2000,
                         hint="Include avatar names and online friends' names where you know them."),
            ),
        ),
        Step(
            id="device", title="The device", applies=any_of(_illegal, _unsuitable),
            guidance=_guidance((ILLEGAL_MATERIAL_GUIDANCE, _illegal), (UNSUITABLE_SITE_GUIDANCE, _unsuitable)),
            questions=(
                Question("device", "Which device? Where is it now?", Kind.SHORT_TEXT, max_length=300),
                Question("username", "Username logged in, if known", Kind.SHORT_TEXT, required=False,
                         max_length=150),
            ),
        ),
        Step(id="review", title="Check and send", review=True,
             intro="Check your answers, then send them. They go only to the people the school's policy names."),
    ),
)


def needs_immediate_page(answers: Answers) -> bool:
    """Immediate risk pages the whole DSL team and the head as soon as it is chosen, before the record."""
    return answers.get("urgency") == Urgency.IMMEDIATE


class ChildAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    year_group: str
    date_of_birth: date | None = None

    @property
    def year_group_label(self) -> str:
        return YEAR_GROUP_LABELS.get(self.year_group, self.year_group)


class ReportAnswers(BaseModel):
    """A completed report, typed: what `storage` keeps and the record modal shows."""

    model_config = ConfigDict(frozen=True)

    subject: SubjectKind = SubjectKind.PUPIL
    adult_user: str | None = None
    adult_name: str | None = None
    adult_role: str | None = None
    adult_date_of_birth: date | None = None
    threshold: str | None = None
    other_name: str | None = None
    other_relation: str | None = None
    personal_data: str | None = None
    category: Category
    urgency: Urgency
    involves: list[Involvement] = []
    children: list[ChildAnswer] = []
    occurred_on: date
    occurred_time: time | None = None
    others_present: str | None = None
    late_reason: str | None = None
    disclosure: str | None = None
    why_concerned: str
    observed: str | None = None
    heard: str | None = None
    told: str | None = None
    online_details: str | None = None
    reporter_position: str | None = None
    device: str | None = None
    username: str | None = None

    @classmethod
    def from_answers(cls, answers: Answers, today: date) -> ReportAnswers:
        """The answers on the form's path (a step skipped by branching contributes nothing)."""
        kept = {q.id: answers.get(q.id) for q in REPORT_FORM.questions(answers, today)}
        count = CHILDREN.count(answers) if answers.get("subject", SubjectKind.PUPIL) == SubjectKind.PUPIL else 0
        children = [
            {"name": kept[f"child_name_{i}"], "year_group": kept[f"year_group_{i}"],
             "date_of_birth": kept.get(f"date_of_birth_{i}") or None}
            for i in range(1, count + 1)
        ]
        fields = {k: v for k, v in kept.items() if k in cls.model_fields and v not in (None, "", [])}
        return cls.model_validate({**fields, "children": children})

    @property
    def reported_late(self) -> bool:
        return self.late_reason is not None

    @property
    def meets_harm_threshold(self) -> bool:
        return self.threshold == "harm"

    @property
    def personal_data_breach(self) -> bool:
        return self.subject is SubjectKind.NOBODY and self.personal_data == "yes"
