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


# A second invented school, for tests with several workspaces in one sandbox.
TEAM_ID2 = "T0BIRCHES"
B_TEACHER, B_DSL, B_DEPUTY, B_HEAD, B_GOVERNOR = "U0BJOSIE", "U0BMARK", "U0BLENA", "U0BRUTH", "U0BCARL"
B_BOT = "U0BBOT"
B_GENERAL, B_DSL_CHANNEL = "C0BGENERAL", "C0BDSLTEAM"


def second_workspace(bot_token: str | None = None) -> Workspace:
    """Birches Academy: its own people and channels; not installed (no token) unless `bot_token` is given."""
    ws = Workspace(TEAM_ID2, "Birches Academy (sandbox)", bot_token=bot_token, scopes=set(BOT_SCOPES),
                   bot_user_id=B_BOT, bot_id="B0BBOT", domain="birches-sandbox")
    people = [
        (B_TEACHER, "josie.okafor", "Josie Okafor"),    # Year 8 form tutor
        (B_DSL, "mark.ellison", "Mark Ellison"),        # Designated Safeguarding Lead
        (B_DEPUTY, "lena.novak", "Lena Novak"),         # deputy DSL
        (B_HEAD, "ruth.pemberton", "Ruth Pemberton"),   # headteacher
        (B_GOVERNOR, "carl.whitby", "Carl Whitby"),     # online safety governor
    ]
    for user_id, name, real_name in people:
        ws.add_user(SandboxUser(user_id, name, real_name, email=f"{name}@birches.example"))
    members = {user_id for user_id, _, _ in people} | {ws.bot_user_id}
    ws.add_channel(SandboxChannel(B_GENERAL, "general", members=members))
    ws.add_channel(SandboxChannel(B_DSL_CHANNEL, "dsl-team", is_private=True,
                                  members={B_DSL, B_DEPUTY, ws.bot_user_id}))
    return ws
