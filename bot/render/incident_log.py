"""The incident log modal (`/concerns`): references and handling, never a child's name."""

from __future__ import annotations

from bot.render.blocks import Block, button, context, local_time, mention, modal, section
from bot.render.messages import OPEN_RECORD_ACTION
from flows.incident_log import USAGE, Filters
from storage.access import ConcernSummary


def incident_log_view(concerns: list[ConcernSummary], filters: Filters, timezone: str) -> dict:
    blocks: list[Block] = [context(f"Showing {filters.describe()} · newest first · {len(concerns)} shown")]
    if not concerns:
        blocks.append(section("No concerns match. " + USAGE))
    for c in concerns:
        handled = f" · with {mention(c.assigned_to)}" if c.assigned_to else ""
        flags = " · :warning: immediate referral" if c.immediate_referral else ""
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{c.reference}* · {local_time(c.reported_at, timezone)}\n"
                                               f"{c.category.label} · {c.urgency.label} · {c.status.label}"
                                               f"{handled}{flags}"},
            "accessory": button("Open", OPEN_RECORD_ACTION, str(c.id)),
        })
    return modal("Incident log", blocks, close="Close")


def not_for_you_view() -> dict:
    return modal("Incident log", [section(
        "Sorry, the incident log is only for the safeguarding team. To report a concern, use "
        "`/report-concern`.")], close="Close")
