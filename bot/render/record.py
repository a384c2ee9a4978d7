"""The full record, shown in a modal to an entitled viewer; and the refusal everyone else sees."""

from __future__ import annotations

from bot.render.blocks import Block, context, fields, header, local_time, mention, modal, section, typed_text
from flows.concern import Status
from storage.access import ConcernRecord

EVENT_WORDS = {
    "reported": "reported it", "notified": "safeguarding team notified", "acknowledged": "acknowledged it",
    "acknowledge_refused": "tried to acknowledge it (refused)", "record_viewed": "opened the record",
    "record_view_refused": "tried to open the record (refused)",
}
MAX_HISTORY_LINES = 30


def record_view(record: ConcernRecord, timezone: str) -> dict:
    s, a = record.summary, record.answers
    occurred = a.occurred_on.strftime("%-d %b %Y") + (f", {a.occurred_time:%H:%M}" if a.occurred_time else "")
    blocks: list[Block] = [
        header(f"Concern {s.reference}"),
        fields(("Category", s.category.label), ("Urgency", s.urgency.label), ("Status", s.status.label),
               ("Reported by", mention(s.reporter_id)), ("Reported at", local_time(s.reported_at, timezone)),
               ("Happened", occurred)),
        context("*Child*"), typed_text(f"{a.child_name} ({a.year_group_label})"),
        context("*What was seen, heard or told*"), typed_text(a.account),
        context("*History*"),
    ]
    entries = [
        (c.at, f"{Status(c.to_status).label} · {mention(c.actor_id)}") for c in record.history
    ] + [
        (e.at, f"{mention(e.actor_id)} {EVENT_WORDS.get(e.kind, e.kind)}") for e in record.events
    ]
    entries.sort(key=lambda entry: entry[0])
    for at, line in entries[-MAX_HISTORY_LINES:]:
        blocks.append(context(f"{local_time(at, timezone)} · {line}"))
    return modal("Concern record", blocks, close="Close")


def refusal_view() -> dict:
    return modal("Concern record", [section(
        "Sorry, this record is only available to the people the school's safeguarding policy names "
        "for it. If you think you should see it, please speak to your Designated Safeguarding Lead."
    )], close="Close")
