"""The school settings in Slack: the form (flows/admin.py), the check, the confirmation, the result."""

from __future__ import annotations

from typing import Any

from bot.render.blocks import Block, actions, button, context, modal, section
from bot.render.text import in_mrkdwn, safe_section

SETTINGS_ACTION = "admin_settings"  # App Home: open the settings
POLICIES_ACTION = "admin_policies"  # App Home: the policy register
EDIT_POLICY_ACTION = "admin_policy_edit"  # value: the policy's key, or "" for a new one
AUP_ACTION = "admin_aup"  # App Home: publish a new AUP version
SETTINGS_CALLBACK = "admin_settings_form"
CONFIRM_CALLBACK = "admin_settings_confirm"
BACK_ACTION = "admin_settings_back"
CHANGED_SINCE = ("The settings were changed by someone else after you checked yours, so nothing was saved: go back "
                 "to see them as they are now.")
NOT_AN_ADMIN = ("Only the headteacher, the people the school names, and the workspace's admins can change "
                "concernbot's settings.")


def checking_view(external_id: str) -> dict[str, Any]:
    return {**modal("School settings", [section(":hourglass_flowing_sand: Checking the people and the channel "
                                                "with Slack…")]), "external_id": external_id}


def confirm_view(changes: list[str], metadata: str) -> dict[str, Any]:
    if not changes:
        return modal("School settings", [section("Nothing would change: these are the settings already.")])
    lines = "\n".join(f"• {in_mrkdwn(c)}" for c in changes[:40])  # a change quotes what was typed
    blocks: list[Block] = [safe_section("*Please confirm these changes:*\n" + lines),
                           context("Open concerns about adults are re-routed if a role changes hands. "
                                   "Every change is recorded in the audit log with your name.")]
    return modal("Confirm the changes", blocks, callback_id=CONFIRM_CALLBACK, submit="Confirm", close="Cancel",
                 private_metadata=metadata)


def problem_view(problem: str, metadata: str) -> dict[str, Any]:
    return modal("School settings", [safe_section(f":warning: {in_mrkdwn(problem)}"),
                                     actions(button("Back to the settings", BACK_ACTION, style="primary")),
                                     context("Nothing was changed.")], private_metadata=metadata)


def saving_view(external_id: str) -> dict[str, Any]:
    return {**modal("School settings", [section(":hourglass_flowing_sand: Saving…")]), "external_id": external_id}


def done_view(changes: list[str]) -> dict[str, Any]:
    lines = "\n".join(f"• {in_mrkdwn(c)}" for c in changes[:40]) or "Nothing needed changing."
    return modal("School settings", [safe_section(":white_check_mark: *Saved.*\n" + lines),
                                     context("Recorded in the audit log.")])
