"""App Home, rendered for one person from `storage.home.HomeData`: references, statuses and counts only."""

from __future__ import annotations

from bot.render.admin import AUP_ACTION, POLICIES_ACTION, SETTINGS_ACTION
from bot.render.aup import SIGN_ACTION
from bot.render.blocks import Block, actions, button, context, header, local_time, mention, section
from bot.render.messages import HOME_REPORT_ACTION, OPEN_RECORD_ACTION
from bot.render.text import in_mrkdwn, safe_context, safe_section
from bot.render.reviews import GOVERNORS_REPORT_ACTION
from flows.concern import Status
from storage.access import ConcernSummary
from storage.home import HomeData


def _own_report(c: ConcernSummary, tz: str) -> str:
    if c.status is Status.CLOSED:
        return f"*{c.reference}* · closed"
    if c.acknowledged_by and c.acknowledged_at:
        return f"*{c.reference}* · acknowledged by {mention(c.acknowledged_by)} at {local_time(c.acknowledged_at, tz)}"
    return f"*{c.reference}* · recorded {local_time(c.reported_at, tz)}, waiting to be acknowledged"


def _aup(data: HomeData, tz: str) -> list[Block]:
    if data.own_aup is None:
        return []
    request, version = data.own_aup
    if request.signed_at:
        return [safe_context(f":white_check_mark: You signed the staff Acceptable Use Policy (version "
                             f"{in_mrkdwn(version.version)}) on {local_time(request.signed_at, tz)}.")]
    return [safe_section(f":page_facing_up: Please read and sign the staff Acceptable Use Policy, version "
                         f"{in_mrkdwn(version.version)}. Type `/aup` to read it, or:"),
            actions(button("I have read and agree", SIGN_ACTION, str(request.id)))]


def _handling(data: HomeData, tz: str) -> list[Block]:
    waiting = sum(1 for c in data.open_concerns if c.status is Status.NEW)
    blocks: list[Block] = [{"type": "divider"}, header("Concerns you handle"),
                           section(f"*{len(data.open_concerns) + data.more_open} open*, {waiting} waiting to be "
                                   f"acknowledged" + (f", *{len(data.overdue)} past their escalation time*"
                                                      if data.overdue else "") + ".")]
    for c in data.open_concerns:
        flag = ":alarm_clock: " if c.id in data.overdue else ""
        line = (f"{flag}*{c.reference}* · {c.category.label} · {c.urgency.label} · {c.status.label} · "
                f"reported {local_time(c.reported_at, tz)}")
        blocks.append({**section(line), "accessory": button("Open record", OPEN_RECORD_ACTION, str(c.id))})
    if data.more_open:
        blocks.append(context(f"And {data.more_open} more: type `/concerns` for the whole list."))
    if data.drafts:
        lines = [f"{mention(d.reporter_id)} started one at {local_time(d.started_at, tz, with_date=False)}"
                 + (f" ({d.category})" if d.category else "") for d in data.drafts]
        blocks.append(section(":hourglass: *Not sent yet today:* " + "; ".join(lines) + "."))
    return blocks


def home_view(data: HomeData, tz: str) -> dict:
    blocks: list[Block] = [
        section("*concernbot* records online-safety and safeguarding concerns for your school's "
                "safeguarding team, the same day."),
        actions(button("Report a concern", HOME_REPORT_ACTION, style="primary")),
        context("Or type `/report-concern` anywhere. Only the safeguarding team sees what you write."),
        *_aup(data, tz),
    ]
    if data.reported:
        blocks.append(section("*Your reports*\n" + "\n".join(_own_report(c, tz) for c in data.reported)))
    if data.handles:
        blocks += _handling(data, tz)
    if not data.configured:
        blocks.append(section(":construction: concernbot is not set up for this school yet: reports are still "
                              "recorded, and reach the safeguarding team once it is."))
    if data.administers:
        if data.configured:
            blocks += [actions(button("School settings", SETTINGS_ACTION), button("Policies", POLICIES_ACTION),
                               button("Publish an AUP version", AUP_ACTION)),
                       context("Who holds each role, the DSL channel, the LADO's email, the school day; the "
                               "policy register; the staff Acceptable Use Policy.")]
        else:
            blocks += [actions(button("Set up concernbot", SETTINGS_ACTION, style="primary")),
                       context("Who holds each role, the DSL channel, the LADO's email, the school day.")]
    if data.governors_report:
        blocks += [actions(button("Governors' report (this term so far)", GOVERNORS_REPORT_ACTION)),
                   context("Counts only: no child, member of staff or reference appears in it.")]
    return {"type": "home", "blocks": blocks}
