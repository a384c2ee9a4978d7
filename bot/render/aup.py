"""What staff see of the Acceptable Use Policy: the request, reminders, the receipt, their status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.render.blocks import Block, actions, button, context, local_time, mention, modal, plain, section
from bot.render.text import in_mrkdwn, safe_section, typed_section, user_text
from flows.aup import Reason
from storage.aup import StaffStatus
from storage.models import AupRequest, AupVersion

SIGN_ACTION = "aup_sign"
READ_ACTION = "aup_read"
LINK_ACTION = "aup_link"  # a link button: Slack still tells the app it was pressed
SHOW_UNSIGNED_ACTION = "aup_show_unsigned"
MODAL_TEXT_LIMIT = 2900  # a section holds 3,000 characters


def _buttons(version: AupVersion, request_id: int) -> Block:
    read = ({"type": "button", "text": plain("Read the AUP"), "action_id": LINK_ACTION, "url": version.url}
            if version.url else button("Read the AUP", READ_ACTION, str(request_id)))
    return actions(read, button("I have read and agree", SIGN_ACTION, str(request_id), style="primary"),
                   block_id=f"aup:{request_id}")


def _why(reason: Reason, version: AupVersion) -> list[Block]:
    if reason is Reason.NEW_VERSION:
        lead = [section("The policy has changed. What changed:")]
        return lead + ([typed_section(version.changes)] if version.changes else
                       [section("_(no summary was given; please read it through)_")])
    if reason is Reason.JOINER:
        return [section("Welcome. Everyone who joins the school reads and signs it on their first day.")]
    return [section("Every member of staff reads and signs it again at the start of each school year.")]


def _named(version: AupVersion) -> tuple[str, str]:
    """The school's own title and version words, made inert for a mrkdwn sentence."""
    return in_mrkdwn(version.title), in_mrkdwn(version.version)


def request_message(version: AupVersion, request: AupRequest) -> tuple[str, list[Block]]:
    title, number = _named(version)
    text = f"Please read and sign the {title}, version {number}."
    return text, [{"type": "header", "text": user_text(version.title[:150])}, safe_section(f":page_facing_up: {text}"),
                  *_why(Reason(request.reason), version),
                  _buttons(version, request.id),
                  context("Pressing *I have read and agree* records your name, this version and the time.")]


def reminder_message(version: AupVersion, request: AupRequest, number: int, limit: int) -> tuple[str, list[Block]]:
    title, shown = _named(version)
    text = (f"A friendly reminder ({number} of {limit}): please read and sign the {title}, "
            f"version {shown}. It only takes a few minutes.")
    return text, [safe_section(f":wave: {text}"), _buttons(version, request.id)]


def receipt(version: AupVersion, signed_at: datetime, tz: str) -> tuple[str, list[Block]]:
    title, number = _named(version)
    text = (f"You signed the {title}, version {number}, on {local_time(signed_at, tz)}. "
            "Thank you.")
    return text, [safe_section(f":white_check_mark: {text}"),
                  context(f"Your signature is bound to this text (fingerprint {version.content_hash[:12]}).")]


REPLACED = ("This version has been replaced by a newer one: please read and sign the newer message, "
            "or type `/aup`.")
NOT_YOURS = "This request to sign is for someone else: type `/aup` to see your own."
NOT_FOUND = "I couldn't find that request to sign. Type `/aup` to see where you stand."


def text_view(version: AupVersion, request_id: int) -> dict[str, Any]:
    body = version.text or ""
    chunks = [body[i:i + MODAL_TEXT_LIMIT] for i in range(0, len(body), MODAL_TEXT_LIMIT)][:90]
    blocks: list[Block] = [typed_section(chunk) for chunk in chunks]
    blocks.append(actions(button("I have read and agree", SIGN_ACTION, str(request_id), style="primary")))
    return {**modal("AUP", blocks, close="Close"), "title": user_text(f"AUP {version.version}"[:24])}


def status_view(own: tuple[AupRequest, AupVersion] | None, tz: str, everyone: list[StaffStatus] | None) -> dict:
    blocks: list[Block] = []
    if own is None:
        blocks.append(section("You have not been asked to sign the staff Acceptable Use Policy yet."))
    else:
        request, version = own
        if request.signed_at:
            blocks.append(safe_section(f":white_check_mark: You signed *version {in_mrkdwn(version.version)}* on "
                                       f"{local_time(request.signed_at, tz)}."))
        else:
            blocks.append(safe_section(f":hourglass: You have not yet signed *version {in_mrkdwn(version.version)}* "
                                       f"(asked {local_time(request.requested_at, tz)})."))
            blocks.append(_buttons(version, request.id))
    if everyone is not None:
        signed = sum(1 for s in everyone if s.signed_at)
        blocks += [{"type": "divider"},
                   section(f"*The whole staff:* {signed} of {len(everyone)} have signed what they were last "
                           "asked to sign.")]
        if signed < len(everyone):
            blocks.append(actions(button("Show who has not signed", SHOW_UNSIGNED_ACTION)))
    return modal("Acceptable Use Policy", blocks, close="Close")


def unsigned_view(everyone: list[StaffStatus], tz: str) -> dict:
    waiting = [s for s in everyone if not s.signed_at]
    lines = [f"{mention(s.user_id)} · version {in_mrkdwn(s.version)} · asked "
             f"{local_time(s.requested_at, tz, with_date=True)}"
             f" ({s.reason.label})" for s in waiting]
    blocks: list[Block] = [section(f"*{len(waiting)} not yet signed*")]
    page: list[str] = []
    for line in lines:
        if sum(len(p) + 1 for p in page) + len(line) > MODAL_TEXT_LIMIT:
            blocks.append(section("\n".join(page)))
            page = []
        page.append(line)
    if page:
        blocks.append(section("\n".join(page)))
    if len(blocks) > 99:
        blocks = blocks[:98] + [context("The list is longer than Slack can show: `concernbot aup status --out "
                                        "FILE` exports all of it.")]
    return modal("Not yet signed", blocks, close="Close")


def weekly_list(unsigned: int, asked: int, version: str | None) -> tuple[str, list[Block]]:
    which = f"version {in_mrkdwn(version)} of " if version else ""
    text = (f"AUP signing this week: {unsigned} of {asked} members of staff have not yet signed {which}the staff "
            "Acceptable Use Policy.")
    return text, [safe_section(f":clipboard: {text} They are reminded weekly."),
                  actions(button("Show who", SHOW_UNSIGNED_ACTION))]


def round_notice(stage: str, version: AupVersion, asked: int) -> tuple[str, list[Block]]:
    number = in_mrkdwn(version.version)
    if stage == "started":
        text = (f"The AUP signing round for version {number} has started: {asked} members of staff are "
                "being asked to read and sign it.")
    else:
        text = f"All {asked} members of staff have now been sent version {number} of the AUP to sign."
    return text, [safe_section(f":mega: {text}"), context("Type `/aup` to see who has signed.")]
