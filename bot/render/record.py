"""The full record, shown in a modal to an entitled viewer; and the refusal everyone else sees."""

from __future__ import annotations

from bot.render.blocks import Block, context, fields, header, local_time, mention, modal, section, typed_text
from flows.concern import Status
from flows.handling import ActionKind
from flows.nudes import CONDITION_LABELS, ReferralCondition
from bot.render.messages import SUBJECT_WORDS
from flows.report_form import INVOLVEMENT_CHOICES, ReportAnswers
from storage.access import ConcernRecord

EVENT_WORDS = {
    "reported": "reported it", "notified": "safeguarding team notified", "acknowledged": "acknowledged it",
    "acknowledge_refused": "tried to acknowledge it (refused)", "record_viewed": "opened the record",
    "record_view_refused": "tried to open the record (refused)", "action_recorded": "recorded an action",
    "assigned": "assigned it", "closed": "closed it", "handling_refused": "tried to act on it (refused)",
    "escalated": "escalated (not acknowledged in time)", "initial_review": "recorded the initial review",
    "exported": "exported it in the incident log", "emailed": "emailed the case's outside contact",
    "legal_hold": "put it under a legal hold (kept past its retention date)",
    "legal_hold_released": "lifted the legal hold", "rerouted": "re-routed it (the school's roles changed)",
}
# A subject access or transfer export is logged as `exported` with what it was for.
EXPORT_WORDS = {"child": "exported it in a child's subject access or transfer record",
                "staff": "exported it in a member of staff's subject access record"}


def _event_words(kind: str, data: dict[str, object]) -> str:
    if kind == "exported" and str(data.get("export")) in EXPORT_WORDS:
        return EXPORT_WORDS[str(data["export"])]
    if kind == "emailed" and data.get("to") == "fallback":
        return "emailed the school's fallback address (Slack was not reached)"
    return EVENT_WORDS.get(kind, kind.replace("_", " "))
INVOLVEMENT_LABELS = {c.value: c.label for c in INVOLVEMENT_CHOICES}
MAX_HISTORY_LINES = 30
MAX_BLOCKS = 100  # Slack's limit for a modal
MAX_ACTIONS_SHOWN = 20


def _children(answers: ReportAnswers) -> str:
    lines = []
    for child in answers.children:
        born = f", born {child.date_of_birth:%-d %b %Y}" if child.date_of_birth else ""
        lines.append(f"{child.name} ({child.year_group_label}{born})")
    return "\n".join(lines)


def _subject(answers: ReportAnswers) -> list[Block]:
    """Who the concern is about: the children, the adult, the parent or visitor, or the data matter."""
    if answers.children:
        return [context("*Child*" if len(answers.children) == 1 else "*Children*"), typed_text(_children(answers))]
    if answers.subject.is_adult:
        threshold = "An allegation of harm" if answers.threshold == "harm" else "A low-level concern"
        born = f"born {answers.adult_date_of_birth:%-d %b %Y}" if answers.adult_date_of_birth else None
        who = " · ".join(p for p in (answers.adult_name, answers.adult_role, born) if p)
        blocks = [context(f"*About {SUBJECT_WORDS[answers.subject]}* · {threshold}")]
        if answers.adult_user:
            blocks.append(section(f"In the workspace: {mention(answers.adult_user)}"))
        if who:
            blocks.append(typed_text(who))
        return blocks
    if answers.other_relation or answers.other_name:
        who = " · ".join(p for p in (answers.other_name, answers.other_relation) if p)
        return [context("*About a parent, carer or visitor*"), typed_text(who)]
    breach = "Yes: treat as a possible personal-data breach" if answers.personal_data == "yes" else "No"
    return [context("*A technical or data matter* · personal data involved?"), typed_text(breach)]


def _chronology(record: ConcernRecord, timezone: str) -> list[Block]:
    """Earlier concerns about each child: the pattern is what matters."""
    blocks: list[Block] = []
    for child, earlier in zip(record.answers.children, record.chronology):
        if not earlier:
            continue
        lines = [f"{c.reference} · {local_time(c.reported_at, timezone)} · {c.category.label} · {c.status.label}"
                 for c in earlier]
        blocks += [context(f"*Other concerns about this child* ({len(earlier)})"),
                   typed_text(f"{child.name}:\n" + "\n".join(lines))]
    return blocks


def _written(answers: ReportAnswers) -> list[Block]:
    """Each free-text answer that was given, under its question, as plain text."""
    blocks: list[Block] = []
    for label, text in (
        ("Recorded late because", answers.late_reason),
        ("Others present", answers.others_present),
        ("The child's own words", answers.disclosure),
        ("Why the reporter is concerned", answers.why_concerned),
        ("Observed", answers.observed),
        ("Heard", answers.heard),
        ("Told, by whom and when", answers.told),
        ("Websites, apps, games, films, avatars", answers.online_details),
        ("Reporter's position", answers.reporter_position),
        ("Device", answers.device),
        ("Username", answers.username),
    ):
        if text:
            blocks += [context(f"*{label}*"), typed_text(text)]
    return blocks


CLOCK_WORDS = {"lado": "The LADO must be told within one working day", "ico": "The ICO must be told within 72 hours"}


def _clocks(record: ConcernRecord, timezone: str) -> list[Block]:
    blocks: list[Block] = []
    for deadline in record.deadlines:
        state = (f"done at {local_time(deadline.met_at, timezone)}" if deadline.met_at
                 else f"*due by {local_time(deadline.due_at, timezone)}*")
        blocks.append(section(f":alarm_clock: {CLOCK_WORDS[deadline.kind]}: {state}."))
    emailed = [e for e in record.events if e.kind == "emailed"]
    for event in emailed:
        whom = {"lado": "the LADO", "fallback": "the school's fallback address (Slack was not reached)"}.get(
            str(event.data.get("to")), "the chair of governors")
        blocks.append(context(f"Emailed {whom} (no names, no details) at {local_time(event.at, timezone)}."))
    return blocks


def _initial_review(record: ConcernRecord) -> list[Block]:
    review = record.initial_review
    if review is None:
        return []
    ticked = [CONDITION_LABELS[ReferralCondition(c)] for c in review.conditions]
    blocks: list[Block] = [section("*Initial review (sharing nudes)*"),
                           context(f"Recorded by {mention(review.recorded_by)}"),
                           section(":warning: *Immediate referral required:* " + "; ".join(ticked)) if ticked
                           else section("No immediate-referral condition applies.")]
    for label, text in (("What the meeting established", review.established),
                        ("Parents / carers told", {"yes": "Yes", "no": "No", "not_yet": "Not yet decided"}
                         .get(review.parents_told, review.parents_told)),
                        ("Why it is handled in school", review.in_school_reason)):
        if text:
            blocks += [context(f"*{label}*"), typed_text(text)]
    return blocks


def _actions(record: ConcernRecord) -> list[Block]:
    """The Record of Action: each action, who recorded it, and its details; the outcome last."""
    if not record.actions and not record.summary.assigned_to:
        return []
    blocks: list[Block] = [section("*Record of action*")]
    if record.summary.assigned_to:
        blocks.append(context(f"Looked after by {mention(record.summary.assigned_to)}"))
    shown = record.actions[-MAX_ACTIONS_SHOWN:]
    if len(record.actions) > len(shown):
        blocks.append(context(f"Showing the latest {len(shown)} of {len(record.actions)} actions; the export has them all."))
    for action in shown:
        label = "Outcome" if action.kind == "outcome" else ActionKind(action.kind).label
        when = action.taken_on.strftime("%-d %b %Y") + (f" {action.taken_time:%H:%M}" if action.taken_time else "")
        blocks.append(context(f"*{label}* · {when} · recorded by {mention(action.recorded_by)}"))
        if action.note:
            blocks.append(typed_text(action.note))
    return blocks


def record_view(record: ConcernRecord, timezone: str) -> dict:
    s, a = record.summary, record.answers
    occurred = a.occurred_on.strftime("%-d %b %Y") + (f", {a.occurred_time:%H:%M}" if a.occurred_time else "")
    blocks: list[Block] = [
        header(f"Concern {s.reference}"),
        fields(("Category", s.category.label), ("Urgency", s.urgency.label), ("Status", s.status.label),
               ("Reported by", mention(s.reporter_id)), ("Reported at", local_time(s.reported_at, timezone)),
               ("Happened", occurred + (" (recorded late)" if s.reported_late else ""))),
    ]
    if a.involves:
        blocks.append(section(":warning: " + "; ".join(INVOLVEMENT_LABELS[i] for i in a.involves)))
    blocks += _subject(a)
    blocks += _chronology(record, timezone)
    blocks += _written(a)
    blocks += _clocks(record, timezone)
    blocks += _initial_review(record)
    blocks += _actions(record)
    blocks.append(context("*History*"))
    entries = [
        (c.at, f"{Status(c.to_status).label} · {mention(c.actor_id)}") for c in record.history
    ] + [
        (e.at, f"{mention(e.actor_id)} {_event_words(e.kind, e.data)}") for e in record.events
    ]
    entries.sort(key=lambda entry: entry[0])
    history = [context(f"{local_time(at, timezone)} · {line}") for at, line in entries[-MAX_HISTORY_LINES:]]
    return modal("Concern record", _fit(blocks, history, len(entries)), close="Close")


def _fit(blocks: list[Block], history: list[Block], total_events: int) -> list[Block]:
    """Slack refuses a modal of more than 100 blocks: the oldest history gives way first, then actions."""
    room = MAX_BLOCKS - len(blocks) - 1
    if room >= len(history):
        return blocks + history
    if room > 0:
        note = context(f"Showing the latest {room} of {total_events} history entries; the export has them all.")
        return blocks + [note] + history[-room:]
    note = context("This record is too long to show in full here; the incident log export has all of it.")
    return blocks[:MAX_BLOCKS - 1] + [note]


def refusal_view() -> dict:
    return modal("Concern record", [section(
        "Sorry, this record is only available to the people the school's safeguarding policy names "
        "for it. If you think you should see it, please speak to your Designated Safeguarding Lead."
    )], close="Close")
