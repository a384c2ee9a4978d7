"""The words of the emails to the LADO and an outside chair: the school, the reference, the date, and
how to reach the case manager. No names of children or staff, and nothing of what happened."""

from __future__ import annotations

from datetime import datetime

from bot.render.blocks import local_time
from flows.concern import Role
from storage.access import ConcernSummary

CASE_MANAGER = {Role.HEADTEACHER: "the headteacher", Role.CHAIR_OF_GOVERNORS: "the chair of governors"}


def case_email(summary: ConcernSummary, school_name: str, recipient: str, case_roles: frozenset[Role],
               school_contact: str | None, timezone: str) -> tuple[str, str]:
    """Subject and body. `recipient` is 'lado' or 'chair'."""
    manager = next((CASE_MANAGER[r] for r in (Role.CHAIR_OF_GOVERNORS, Role.HEADTEACHER) if r in case_roles),
                   None)
    whom = "the Local Authority Designated Officer" if recipient == "lado" else "the chair of governors"
    reach = (f"Please contact {manager} through the school" + (f" ({school_contact})." if school_contact else ".")
             if manager else "Nobody at the school could be named as case manager for this concern: "
                             "please contact the school" + (f" ({school_contact})." if school_contact else "."))
    subject = f"{school_name}: a concern needing your attention ({summary.reference})"
    body = (
        f"A concern that needs the attention of {whom} was recorded at {school_name} on "
        f"{local_time(summary.reported_at, timezone)}.\n\nReference: {summary.reference}\n\n{reach}\n\n"
        "This email deliberately contains no names and no details: they are kept in the school's "
        "safeguarding record.\n"
    )
    return subject, body


def chair_notice(summary: ConcernSummary, school_name: str, about: str, stage: str | None, due: datetime | None,
                 timezone: str) -> tuple[str, str]:
    """To a chair outside the workspace who is case manager: a LADO deadline, or the LADO's email failing."""
    subject = f"{school_name}: action needed on concern {summary.reference}"
    if about == "deadline" and due is not None:
        when = local_time(due, timezone)
        lead = f"was due by {when} and is now overdue" if stage == "overdue" else f"is due by {when}"
        body = (f"The Local Authority Designated Officer must be told about concern {summary.reference} at "
                f"{school_name} within one working day; that {lead}. Please contact the LADO, then let the school "
                "know so the record shows it.\n")
    else:
        body = (f"The email telling the Local Authority Designated Officer about concern {summary.reference} at "
                f"{school_name} has not gone through after several tries. Please contact the LADO by phone.\n")
    return subject, body + "\nThis email deliberately contains no names and no details.\n"
