"""The policy register and the AUP, changed from Slack: a policy added, edited or removed; a new AUP version.

As with the school settings (flows/admin.py), a policy change is laid over the school's current set-up file
and validated by its model, so Slack and the file agree on what is allowed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from flows.aup import AupDocument
from flows.forms import Answers, Choice, Form, Kind, Question, Step
from flows.school import Cadence, SchoolFile

REMOVE = "remove"


def _policy_check(answers: Answers, now_local: datetime) -> dict[str, str]:
    return {} if answers.get("title") or REMOVE in (answers.get("remove") or []) else {"title": "Give it a title."}


POLICY_FORM = Form(id="policy", title="Policy", submit_label="Save", steps=(
    Step(id="policy", title="Policy", check=_policy_check, questions=(
        Question("title", "Title", Kind.SHORT_TEXT, max_length=200),
        Question("owner", "Owner (reminded before each review)", Kind.PERSON, required=False),
        Question("cadence", "Reviewed", Kind.SELECT, choices=tuple(Choice(c.value, c.value.capitalize())
                                                                    for c in Cadence)),
        Question("next_review", "Next review", Kind.DATE, future=True),
        Question("remove", "Remove", Kind.CHECKBOXES, required=False,
                 choices=(Choice(REMOVE, "Remove this policy from the register"),)),
    )),
))


def _text_or_link(answers: Answers, now_local: datetime) -> dict[str, str]:
    try:
        aup_document(answers)
    except ValueError as exc:
        return {"text": str(exc)}
    return {}


AUP_FORM = Form(id="aup", title="New AUP version", submit_label="Publish", steps=(
    Step(id="aup", title="New AUP version", check=_text_or_link,
         intro="Publishing asks every member of staff to read and sign it, from the next school morning.",
         questions=(
             Question("version", "Version", Kind.SHORT_TEXT, max_length=64, placeholder="2027-09"),
             Question("title", "Title", Kind.SHORT_TEXT, required=False, max_length=150,
                      placeholder="Staff Acceptable Use Policy"),
             Question("url", "A link to it", Kind.SHORT_TEXT, required=False, max_length=500),
             Question("text", "Or its words", Kind.LONG_TEXT, required=False,
                      hint="Longer than this box? Publish it as a link, or with `concernbot aup publish --file`."),
             Question("changes", "What changed, for the message to staff", Kind.LONG_TEXT, required=False,
                      max_length=1000),
         )),
))


def aup_document(answers: Answers) -> AupDocument:
    fields = {k: (str(answers.get(k) or "").strip() or None) for k in ("version", "title", "url", "text", "changes")}
    if fields["title"] is None:
        del fields["title"]
    try:
        return AupDocument(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(str(first["msg"]).removeprefix("Value error, ").capitalize() + ".") from None


def policy_answers(current: SchoolFile | None, key: str | None) -> dict[str, Any]:
    policy = next((p for p in (current.policies if current else []) if p.key == key), None)
    if policy is None:
        return {"cadence": Cadence.ANNUAL.value}
    return {"title": policy.title, "owner": policy.owner, "cadence": policy.cadence.value,
            "next_review": policy.next_review.isoformat()}


def _new_key(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:56] or "policy"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def with_policy(current: SchoolFile, key: str | None, answers: Answers) -> SchoolFile:
    """The set-up file with this policy added (key None), changed, or removed."""
    policies = [p.model_dump() for p in current.policies]
    if REMOVE in (answers.get("remove") or []):
        policies = [p for p in policies if p["key"] != key]
    else:
        entry = {"key": key or _new_key(str(answers.get("title")), {p["key"] for p in policies}),
                 "title": str(answers.get("title") or "").strip(), "owner": answers.get("owner") or None,
                 "cadence": answers.get("cadence"), "next_review": answers.get("next_review")}
        policies = [entry if p["key"] == entry["key"] else p for p in policies]
        if not any(p["key"] == entry["key"] for p in policies):
            policies.append(entry)
    return SchoolFile.model_validate({**current.model_dump(), "policies": policies})
