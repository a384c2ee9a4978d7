"""Policy review reminders, the *Mark reviewed* form, and the governors' termly monitoring report."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.render.blocks import Block, actions, button, context, header, modal
from bot.render.text import in_mrkdwn, safe_context, safe_mrkdwn, safe_section
from flows.policy_reviews import when_due
from storage.governors_report import GovernorsReport
from storage.models import Policy

REVIEW_ACTION = "policy_mark_reviewed"
REVIEW_CALLBACK = "policy_review_form"
GOVERNORS_REPORT_ACTION = "governors_report"


def policy_reminder(policy: Policy, today: date) -> tuple[str, list[Block]]:
    when = when_due(policy.next_review, today)
    text = (f"Policy review: the {in_mrkdwn(policy.title)} is due for review {when} "
            f"({policy.next_review:%-d %b %Y}; reviewed {policy.cadence}).")
    icon = ":rotating_light:" if today > policy.next_review else ":calendar:"
    return text, [safe_section(f"{icon} {text}"),
                  actions(button("Mark reviewed", REVIEW_ACTION, f"{policy.id}:{policy.next_review}", style="primary")),
                  context("Marking it reviewed records who and when, and sets the next review date.")]


def reviewed_view(policy: Policy, already: bool) -> dict[str, Any]:
    lead = "Someone else marked it reviewed first" if already else "Marked reviewed"
    return modal("Policy reviewed", [safe_section(
        f":white_check_mark: {lead}: the {in_mrkdwn(policy.title)} was reviewed on {policy.last_reviewed_on:%-d %b %Y}. "
        f"Its next review is due {policy.next_review:%-d %b %Y}.")])


NOT_A_REVIEWER = "Only the policy's owner, the headteacher or the online safety governor can mark it reviewed."


def _counts(counter: dict[str, int], empty: str = "none") -> str:
    return "\n".join(f"{key}: {value}" for key, value in sorted(counter.items())) or empty


def fields(*pairs: tuple[str, str]) -> Block:
    """Label and value; a value may hold a policy's title (made inert by `in_mrkdwn`), so verbatim."""
    return {"type": "section", "fields": [safe_mrkdwn(f"*{label}*\n{value}") for label, value in pairs]}


def governors_report(report: GovernorsReport) -> tuple[str, list[Block]]:
    """Counts only. No child, member of staff or reference appears; the policy titles are the school's own."""
    s, period = report.summary, report.period
    school = in_mrkdwn(report.school)
    text = (f"Online safety monitoring report for {school}, {period.term} "
            f"({period.starts:%-d %b} to {period.ends:%-d %b %Y}): {s.total} concerns.")
    wait = (f"median {s.minutes_to_acknowledge_median} min, mean {s.minutes_to_acknowledge_mean} min"
            if s.minutes_to_acknowledge_median is not None else "none acknowledged in this period")
    rate = (f"{report.aup_signed} of {report.aup_asked} ({round(100 * report.aup_signed / report.aup_asked)}%)"
            if report.aup_asked else "nobody asked yet")
    overdue = "\n".join(f"{in_mrkdwn(title)} (due {due:%-d %b %Y})" for title, due in report.overdue_policies) or "none"
    blocks: list[Block] = [
        header("Online safety monitoring report"),
        safe_context(f"{school} · {period.term} · {period.starts:%-d %b %Y} to {period.ends:%-d %b %Y}. "
                     "Anonymised: counts only."),
        fields(("Concerns recorded", f"{s.total} ({s.recorded_late} recorded late)"),
               ("Time to acknowledge", wait)),
        fields(("By category", _counts(s.by_category)), ("By month", _counts(s.by_month))),
        fields(("By status", _counts(s.by_status)), ("Actions taken", _counts(s.actions))),
        fields(("Referrals", _counts(s.referrals)),
               *([("Concerns about adults", f"{s.about_adults} (a count only)")] if s.counts_adults else [])),
        fields((f"AUP signed{f' (version {in_mrkdwn(report.aup_version)})' if report.aup_version else ''}", rate),
               ("Policies overdue for review", overdue)),
    ]
    return text, blocks
