"""The school's settings as a form in Slack: who holds each role, the DSL channel, contacts, the school day.

The head (and whoever the school names, and the workspace's own admins) change them from App Home instead
of editing the set-up file. The form's answers are laid over the school's current set-up file and
validated by the same model (`flows.school.SchoolFile`), so Slack and the file can never disagree about
what is allowed. Policies and the AUP are left as they are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from flows.forms import Answers, Form, Kind, Question, Step
from flows.concern import Role
from flows.school import SchoolFile

PEOPLE = ("dsl", "deputy_dsls", "headteacher", "chair_of_governors", "online_safety_governor", "dpo")


def _check(answers: Answers, now_local: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    minutes = str(answers.get("escalation_minutes") or "").strip()
    if not minutes.isdigit() or not 5 <= int(minutes) <= 480:
        errors["escalation_minutes"] = "Give a number of minutes from 5 to 480."
    try:
        closure_days(answers.get("closure_days"))
    except ValueError as exc:
        errors["closure_days"] = str(exc)
    if answers.get("chair_of_governors") and answers.get("chair_email"):
        errors["chair_email"] = "Choose the chair in the workspace, or give an email, not both."
    return errors


SETTINGS_FORM = Form(id="school_settings", title="School settings", submit_label="Check", steps=(
    Step(id="settings", title="School settings", check=_check,
         intro="Changes are checked, shown to you to confirm, and recorded in the audit log.",
         questions=(
             Question("name", "School name", Kind.SHORT_TEXT, max_length=200),
             Question("dsl", "Designated Safeguarding Lead", Kind.PERSON),
             Question("deputy_dsls", "Deputy DSLs", Kind.PEOPLE, required=False),
             Question("headteacher", "Headteacher", Kind.PERSON),
             Question("chair_of_governors", "Chair of governors, if in this workspace", Kind.PERSON, required=False),
             Question("chair_email", "Or the chair's email, if not", Kind.SHORT_TEXT, required=False,
                      max_length=254),
             Question("online_safety_governor", "Online safety governor", Kind.PERSON, required=False),
             Question("dpo", "Data protection officer", Kind.PERSON, required=False),
             Question("admins", "Who else may change these settings", Kind.PEOPLE, required=False,
                      hint="The headteacher and the workspace's admins always may."),
             Question("dsl_channel", "The DSL team's private channel", Kind.CHANNEL,
                      hint="Invite @concernbot to it first."),
             Question("lado_email", "The LADO's email", Kind.SHORT_TEXT, required=False, max_length=254),
             Question("office", "How the LADO reaches the case manager", Kind.SHORT_TEXT, required=False,
                      max_length=200, placeholder="the school office, 01234 567890"),
             Question("fallback_email", "Email if a concern can't reach Slack", Kind.SHORT_TEXT, required=False,
                      max_length=254, hint="Told the reference only, if Slack is down: IT or the office."),
             Question("escalation_minutes", "Unacknowledged concerns go to the deputies after (school minutes)",
                      Kind.SHORT_TEXT, max_length=3),
             Question("day_starts", "The school day starts", Kind.TIME),
             Question("day_ends", "The school day ends", Kind.TIME),
             Question("draft_nudge_at", "Unsent reports are nudged at", Kind.TIME),
             Question("closure_days", "Closure days (INSET days): dates like 2027-01-04, separated by commas",
                      Kind.LONG_TEXT, required=False, max_length=2000),
         )),
))


def closure_days(raw: object) -> list[date]:
    days = []
    for part in str(raw or "").replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            days.append(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"'{part}' is not a date like 2027-01-04.") from None
    return sorted(set(days))


def answers_from(current: SchoolFile | None) -> dict[str, Any]:
    """The form's starting values: the school as it is now (nothing for a school not yet set up)."""
    if current is None:
        return {"escalation_minutes": "30", "day_starts": "08:00", "day_ends": "17:00", "draft_nudge_at": "15:30"}
    people = current.people
    chair = people.chair_of_governors or ""
    return {
        "name": current.school.name, "dsl": people.dsl, "deputy_dsls": list(people.deputy_dsls),
        "headteacher": people.headteacher, "chair_of_governors": "" if "@" in chair else chair,
        "chair_email": chair if "@" in chair else "", "online_safety_governor": people.online_safety_governor,
        "dpo": people.dpo, "admins": list(current.school.admins), "dsl_channel": current.dsl_channel,
        "lado_email": current.contacts.lado_email, "office": current.contacts.office,
        "fallback_email": current.contacts.fallback_email,
        "escalation_minutes": str(current.school.escalation_minutes),
        "day_starts": current.school.day_starts.strftime("%H:%M"), "day_ends": current.school.day_ends.strftime("%H:%M"),
        "draft_nudge_at": current.school.draft_nudge_at.strftime("%H:%M"),
        "closure_days": ", ".join(d.isoformat() for d in current.school.closure_days),
    }


class SettingsError(ValueError):
    """The answers do not make a valid set-up: {question id: one sentence}."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


FIELD_OF = {("people", p): p for p in PEOPLE} | {
    ("dsl_channel",): "dsl_channel", ("contacts", "lado_email"): "lado_email", ("contacts", "office"): "office",
    ("contacts", "fallback_email"): "fallback_email",
    ("school", "name"): "name", ("school", "day_ends"): "day_ends", ("school", "draft_nudge_at"): "draft_nudge_at",
    ("school", "admins"): "admins", ("school",): "day_ends"}


def settings_file(current: SchoolFile | None, answers: Answers, team_id: str) -> SchoolFile:
    """The set-up file with these answers laid over it; SettingsError says what is wrong, by question."""
    base: dict[str, Any] = current.model_dump() if current is not None else {"policies": [], "aup": {}}
    school = {**base.get("school", {}), "name": (answers.get("name") or "").strip(), "team_id": team_id,
              "escalation_minutes": int(str(answers.get("escalation_minutes"))),
              "day_starts": answers.get("day_starts"), "day_ends": answers.get("day_ends"),
              "draft_nudge_at": answers.get("draft_nudge_at"), "closure_days": closure_days(answers.get("closure_days")),
              "admins": list(answers.get("admins") or [])}
    chair = answers.get("chair_of_governors") or (str(answers.get("chair_email") or "").strip() or None)
    people = {"dsl": answers.get("dsl"), "deputy_dsls": list(answers.get("deputy_dsls") or []),
              "headteacher": answers.get("headteacher"), "chair_of_governors": chair,
              "online_safety_governor": answers.get("online_safety_governor") or None, "dpo": answers.get("dpo") or None}
    contacts = {"lado_email": (str(answers.get("lado_email") or "").strip() or None),
                "office": (str(answers.get("office") or "").strip() or None),
                "fallback_email": (str(answers.get("fallback_email") or "").strip() or None)}
    try:
        return SchoolFile.model_validate({**base, "school": school, "people": people, "contacts": contacts,
                                          "dsl_channel": answers.get("dsl_channel")})
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = tuple(str(p) for p in error["loc"])
            field = FIELD_OF.get(loc[:2]) or FIELD_OF.get(loc[:1]) or "name"
            if field == "chair_of_governors" and answers.get("chair_email"):
                field = "chair_email"
            errors.setdefault(field, str(error["msg"]).removeprefix("Value error, ") + ".")
        raise SettingsError(errors) from None


HEAD_AND_CHAIR = ("headteacher", "chair_of_governors")
OTHER_ROLES = ("dsl", "deputy_dsls", "online_safety_governor", "dpo")


def not_allowed(before: SchoolFile | None, after: SchoolFile, actor_roles: frozenset[Role]) -> str | None:
    """One sentence if this person may not make this change; None if they may.

    Who holds the safeguarding roles decides who sees concerns about adults, so: the headteacher and the
    chair of governors are changed only by the chair (the governors appoint both); the other roles, and who
    else may change settings, by the head or the chair. Everything else (the channel, contacts, the school
    day) by any administrator. A school not set up yet is set up by whoever may administer it.
    """
    if before is None:
        return None
    was, now = before.people.model_dump(), after.people.model_dump()
    if any(was[f] != now[f] for f in HEAD_AND_CHAIR) and Role.CHAIR_OF_GOVERNORS not in actor_roles:
        return ("Only the chair of governors can change who is headteacher or chair here (or the school's IT "
                "lead, with the set-up file): nothing was changed.")
    roles_changed = any(was[f] != now[f] for f in OTHER_ROLES) or before.school.admins != after.school.admins
    if roles_changed and not actor_roles & {Role.HEADTEACHER, Role.CHAIR_OF_GOVERNORS}:
        return ("Only the headteacher or the chair of governors can change who holds a safeguarding role, or who "
                "may change settings: nothing was changed.")
    return None
