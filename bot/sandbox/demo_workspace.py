"""The demo's invented school: people, channels and set-up file. Every name here is made up."""

from __future__ import annotations

from bot.sandbox.workspace import SandboxChannel, SandboxUser, Workspace
from bot.slack_needs import BOT_SCOPES

TEAM_ID = "T0OAKFIELD"
AMY, DAN, PRIYA, HELEN, OWEN, TOM = "U0AMY", "U0DAN", "U0PRIYA", "U0HELEN", "U0OWEN", "U0TOM"
DSL_CHANNEL, GENERAL = "C0DSLTEAM", "C0GENERAL"


def demo_workspace(bot_token: str = "xoxb-sandbox-oakfield") -> Workspace:
    ws = Workspace(TEAM_ID, "Oakfield Primary School (sandbox)", bot_token=bot_token, scopes=set(BOT_SCOPES))
    people = [
        (AMY, "amy.clarke", "Amy Clarke"),          # Year 4 class teacher
        (DAN, "dan.hughes", "Dan Hughes"),          # Designated Safeguarding Lead
        (PRIYA, "priya.shah", "Priya Shah"),        # deputy DSL
        (HELEN, "helen.brooks", "Helen Brooks"),    # headteacher
        (OWEN, "owen.price", "Owen Price"),         # online safety governor
        (TOM, "tom.reed", "Tom Reed"),              # IT technician, not on the safeguarding team
    ]
    for user_id, name, real_name in people:
        ws.add_user(SandboxUser(user_id, name, real_name, email=f"{name}@oakfield.example"))
    members = {user_id for user_id, _, _ in people} | {ws.bot_user_id}
    ws.add_channel(SandboxChannel(GENERAL, "general", members=members))
    ws.add_channel(SandboxChannel(DSL_CHANNEL, "dsl-team", is_private=True,
                                  members={DAN, PRIYA, TOM, ws.bot_user_id}))
    return ws
