"""Messages in channels and DMs. They carry a reference, never a child's name or what was said."""

from __future__ import annotations

from bot.render.blocks import Block, actions, button, context, fields, header, local_time, mention, section
from bot.render.text import in_mrkdwn, safe_section
from datetime import datetime

from flows.concern import Category, Status, SubjectKind, Urgency
from storage.access import ConcernSummary

HOME_REPORT_ACTION = "home_report"  # opens the report form (or offers to resume the unsent one)
ACKNOWLEDGE_ACTION = "concern_acknowledge"
OPEN_RECORD_ACTION = "concern_open"
RECORD_ACTION_ACTION = "concern_record_action"
ASSIGN_ACTION = "concern_assign"
CLOSE_ACTION = "concern_close"
INITIAL_REVIEW_ACTION = "concern_initial_review"


def _status_line(summary: ConcernSummary, timezone: str) -> str:
    if summary.status is Status.CLOSED and summary.closed_at:
        return f"Closed by {mention(summary.closed_by)} at {local_time(summary.closed_at, timezone)}"
    if not (summary.acknowledged_by and summary.acknowledged_at):
        return summary.status.label
    by, at = mention(summary.acknowledged_by), local_time(summary.acknowledged_at, timezone)
    if summary.status is Status.ACKNOWLEDGED:
        return f"Acknowledged by {by} at {at}"
    return f"{summary.status.label}, acknowledged by {by} at {at}"


def _buttons(summary: ConcernSummary) -> list[dict]:
    """What can be done next, on the channel post and the case manager's DM alike."""
    value = str(summary.id)
    buttons = []
    if summary.status is Status.NEW:
        buttons.append(button("Acknowledge", ACKNOWLEDGE_ACTION, value, style="primary"))
    elif summary.status is not Status.CLOSED:
        if summary.category is Category.NUDES and not summary.subject_kind.is_adult and not summary.has_initial_review:
            buttons.append(button("Initial review", INITIAL_REVIEW_ACTION, value, style="primary"))
        buttons += [button("Record action", RECORD_ACTION_ACTION, value),
                    button("Assign", ASSIGN_ACTION, value), button("Close", CLOSE_ACTION, value)]
    buttons.append(button("Open record", OPEN_RECORD_ACTION, value))
    return buttons


def dsl_alert(summary: ConcernSummary, timezone: str) -> tuple[str, list[Block]]:
    """The DSL channel's post for a concern, as it stands now (it is updated in place)."""
    siren = ":rotating_light: " if summary.urgency is Urgency.IMMEDIATE else ""
    text = (f"{siren}Concern {summary.reference} · {summary.category.label} · {summary.urgency.label} · "
            f"reported by {mention(summary.reporter_id)} · {_status_line(summary, timezone)}")
    buttons = _buttons(summary)
    blocks = [
        header(f"{'🚨 ' if siren else ''}Concern {summary.reference}"),
        fields(("Category", summary.category.label), ("Urgency", summary.urgency.label),
               ("Reported by", mention(summary.reporter_id)),
               ("Reported at", local_time(summary.reported_at, timezone))),
        section(f"*Status:* {_status_line(summary, timezone)}"
                + (f"\n*Assigned to:* {mention(summary.assigned_to)}" if summary.assigned_to else "")),
        *([context(f":hourglass: Recorded late: it happened on {summary.occurred_on:%-d %b %Y}.")]
          if summary.reported_late else []),
        *([section(":warning: *Immediate referral required* (initial review): police and/or children's "
                   "social care.")] if summary.immediate_referral else []),
        actions(*buttons, block_id=f"concern:{summary.id}"),
        context("Details are in the record, for the safeguarding team only. Every view is logged."),
    ]
    return text, blocks


SUBJECT_WORDS = {
    SubjectKind.STAFF: "a member of staff", SubjectKind.VOLUNTEER: "a volunteer, contractor, supply teacher or tutor",
    SubjectKind.GOVERNOR: "a governor", SubjectKind.CHAIR: "the chair of governors",
    SubjectKind.HEADTEACHER: "the headteacher", SubjectKind.DSL_MEMBER: "a member of the DSL team",
    SubjectKind.PARENT_VISITOR: "a parent, carer or visitor", SubjectKind.NOBODY: "a technical or data matter",
    SubjectKind.PUPIL: "a pupil",
}


def case_alert(summary: ConcernSummary, timezone: str) -> tuple[str, list[Block]]:
    """A concern about an adult, to its case manager only: what kind, never who."""
    if summary.personal_data_breach:
        kind = "a possible personal-data breach"
    else:
        kind = "an allegation of harm" if summary.meets_harm_threshold else "a low-level concern"
    text = (f"Concern {summary.reference} · {kind} about {SUBJECT_WORDS[summary.subject_kind]} · "
            f"{summary.category.label} · reported by {mention(summary.reporter_id)} · {_status_line(summary, timezone)}")
    buttons = _buttons(summary)
    if summary.personal_data_breach:
        lado = "The ICO must be told within 72 hours if there is a risk to people; record the decision either way."
    elif summary.meets_harm_threshold:
        lado = "The LADO must be told within one working day; do not investigate or interview before speaking to them."
    else:
        lado = "Recorded confidentially as a low-level concern."
    blocks = [
        header(f"Confidential: concern {summary.reference}"),
        section(f"A concern about *{SUBJECT_WORDS[summary.subject_kind]}* ({kind}) has been recorded, and has come "
                "to you as the policy requires." + ("" if summary.personal_data_breach else
                                                    " The person it is about has not been told.")),
        fields(("Category", summary.category.label), ("Reported by", mention(summary.reporter_id)),
               ("Reported at", local_time(summary.reported_at, timezone)),
               ("Status", _status_line(summary, timezone))),
        context(lado),
        actions(*buttons, block_id=f"concern:{summary.id}"),
    ]
    return text, blocks


def deadline_reminder(summary: ConcernSummary, clock: str, stage: str, due: datetime, timezone: str
                      ) -> tuple[str, list[Block]]:
    when = local_time(due, timezone)
    if clock == "lado":
        duty = ("the LADO must be told within one working day of an allegation about an adult. Record it with "
                "Record action, 'Referred to the LADO', once you have spoken to them")
    else:
        duty = ("a personal-data breach that risks people's rights must be reported to the ICO within 72 hours. "
                "Record the decision with Record action, either way")
    lead = f"is overdue: it was due by {when}" if stage == "overdue" else f"is due by {when}"
    text = f"Concern {summary.reference}: {duty}. It {lead}."
    return text, [section((":rotating_light: " if stage == "overdue" else ":alarm_clock: ") + text),
                  actions(button("Open record", OPEN_RECORD_ACTION, str(summary.id)))]


def email_failed(summary: ConcernSummary, to: str) -> tuple[str, list[Block]]:
    whom = "the LADO" if to == "lado" else "the chair of governors"
    text = (f"The email telling {whom} about concern {summary.reference} has not gone through after several "
            f"tries; it is still being retried. Please contact {whom} by phone today.")
    return text, [section(f":warning: {text}")]


def reporter_receipt(summary: ConcernSummary, timezone: str) -> tuple[str, list[Block]]:
    who = "the safeguarding team is" if not summary.subject_kind.is_adult else \
        "it is going only to the person the school's policy names, who is"
    text = (f"Thank you. Your concern {summary.reference} was recorded at "
            f"{local_time(summary.reported_at, timezone)} and {who} being told.")
    return text, [section(f":white_check_mark: {text} You'll hear here when someone has picked it up.")]


def reporter_acknowledged(summary: ConcernSummary, timezone: str) -> tuple[str, list[Block]]:
    when = local_time(summary.acknowledged_at, timezone) if summary.acknowledged_at else "just now"
    text = f"Your concern {summary.reference} has been acknowledged by {mention(summary.acknowledged_by)} at {when}."
    return text, [section(f":eyes: {text}")]


def immediate_page(reporter_id: str | None) -> tuple[str, list[Block]]:
    text = (f":rotating_light: Immediate risk of harm: {mention(reporter_id)} is reporting that a child is at "
            "immediate risk right now. Find them in person or call them. The record will follow.")
    return text, [section(text)]


def urgent_page(summary: ConcernSummary) -> tuple[str, list[Block]]:
    text = (f":rotating_light: Urgent concern {summary.reference} ({summary.category.label}) needs attention "
            "today. Please acknowledge it in the DSL channel.")
    return text, [section(text), actions(button("Open record", OPEN_RECORD_ACTION, str(summary.id)))]


def escalation(summary: ConcernSummary, minutes: int) -> tuple[str, list[Block]]:
    text = (f":alarm_clock: Concern {summary.reference} ({summary.category.label}, {summary.urgency.label}) "
            f"has not been acknowledged after {minutes} minutes of school time. Please make sure someone "
            "picks it up now.")
    return text, [section(text), actions(button("Open record", OPEN_RECORD_ACTION, str(summary.id)))]


def immediate_referral_notice(summary: ConcernSummary) -> tuple[str, list[Block]]:
    text = (f":warning: Concern {summary.reference} ({summary.category.label}) needs an immediate referral to "
            "the police and/or children's social care, after the DSL's initial review.")
    return text, [section(text), actions(button("Open record", OPEN_RECORD_ACTION, str(summary.id)))]


def assigned_notice(summary: ConcernSummary, by: str | None) -> tuple[str, list[Block]]:
    text = f"{mention(by)} has asked you to look after concern {summary.reference} ({summary.category.label})."
    return text, [section(text), actions(button("Open record", OPEN_RECORD_ACTION, str(summary.id)))]


def reporter_closed(summary: ConcernSummary, timezone: str) -> tuple[str, list[Block]]:
    text = (f"Your concern {summary.reference} has been closed by the safeguarding team. "
            "Thank you for reporting it.")
    return text, [section(text)]


def draft_nudge(started: datetime, timezone: str) -> tuple[str, list[Block]]:
    text = (f"You started a report at {local_time(started, timezone, with_date=False)} today that hasn't been "
            "sent yet. Please finish it before you go home: concerns must be recorded the same day.")
    return text, [section(f":hourglass: {text}"),
                  actions(button("Finish my report", HOME_REPORT_ACTION, style="primary"))]


def draft_unsent(reporter_id: str, started: datetime, category: str | None, timezone: str) -> tuple[str, list[Block]]:
    about = f" (category: {category})" if category else ""
    text = (f"An unsent report: {mention(reporter_id)} started one at {local_time(started, timezone, with_date=False)}"
            f"{about} and has not sent it by the end of the school day. It may be worth a word.")
    return text, [section(f":hourglass: {text}")]


def assignee_morning(open_concerns: list[ConcernSummary]) -> tuple[str, list[Block]]:
    count = f"{len(open_concerns)} open concern" + ("s" if len(open_concerns) != 1 else "")
    lines = [f"{c.reference} · {c.category.label} · {c.status.label}" for c in open_concerns]
    text = f"Good morning. You are looking after {count}: " + "; ".join(lines) + "."
    return text, [section(f":sunrise: Good morning. You are looking after {count}:\n" + "\n".join(lines))]


def already_acknowledged(summary: ConcernSummary, timezone: str) -> str:
    when = local_time(summary.acknowledged_at, timezone) if summary.acknowledged_at else "earlier"
    return f"{summary.reference} was already acknowledged by {mention(summary.acknowledged_by)} at {when}."


NOT_ALLOWED_TO_ACT = "Only the people the school's policy names for this concern can act on it."


def setup_needed(school: str | None = None) -> tuple[str, list[Block]]:
    """To whoever can set the school up: a concern was recorded, and nobody is set up to receive it. No
    reference. The school is named (one person may look after several schools' workspaces)."""
    where = f"at {in_mrkdwn(school)} " if school else ""
    text = (f"A member of staff {where}has recorded a safeguarding concern in concernbot, but nobody is set up to "
            "receive it yet. It is kept safe: open concernbot's App Home in that workspace and choose Set up "
            "concernbot, and it will reach the safeguarding team.")
    return text, [safe_section(f":warning: {text}")]
