"""`concernbot reminders --dry-run`: who would get what, and when, by the same rules the daily run follows."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo
import subprocess
import sys
from pathlib import Path

from bot.demo import demo_school_file
from bot.runtime import Runtime
from bot.sandbox.client import SlackSimulator
from bot.sandbox.demo_workspace import TEAM_ID
from bot.yearly_cli import dry_run
from flows.clock import ManualClock
from tests.e2e.conftest import clean_env
from tests.e2e.yearly_helpers import aup_messages, publish, run_day, unsent

LONDON = ZoneInfo("Europe/London")


def test_the_dry_run_lists_the_next_weeks_and_sends_nothing(bot: Runtime, slack: SlackSimulator,
                                                            clock: ManualClock) -> None:
    publish(bot)  # Tuesday 24 November 2026, 10:00
    out = io.StringIO()
    assert dry_run(bot.db, clock, TEAM_ID, 15, out) == 6 + 1 + 6 + 1  # two weeks of reminders and lists
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Oakfield Primary School: the yearly cycle over the next 15 days, from Tue 24 Nov 2026")
    assert "  Tue 1 Dec 2026 08:00  AUP reminder 1 -> U0AMY" in lines
    assert "  Tue 1 Dec 2026 08:00  AUP reminder 1 -> Helen Brooks" in lines
    assert "  Tue 1 Dec 2026 08:00  AUP weekly list: 6 not yet signed -> Helen Brooks" in lines
    assert "  Tue 8 Dec 2026 08:00  AUP reminder 2 -> Dan Hughes" in lines
    assert not any(" Sat " in line or " Sun " in line for line in lines)
    assert sum(len(aup_messages(slack, u)) for u in ("U0AMY", "U0DAN")) == 2 and unsent(bot) == 0  # sent nothing
    longer = io.StringIO()
    dry_run(bot.db, clock, TEAM_ID, 17, longer)
    assert "  Thu 10 Dec 2026 08:00  governors' report, autumn term 2026 -> Helen Brooks, Owen Price" in \
        longer.getvalue().splitlines()


def test_what_went_this_morning_is_not_listed_again(bot: Runtime, slack: SlackSimulator, clock: ManualClock) -> None:
    publish(bot)
    run_day(bot, clock, datetime(2026, 12, 1, 8, 0, tzinfo=LONDON))  # reminders and the weekly list went
    clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=LONDON))
    out = io.StringIO()
    dry_run(bot.db, clock, TEAM_ID, 8, out)
    text = out.getvalue()
    assert "  Tue 1 Dec" not in text  # the header says "from Tue 1 Dec"; no line is for today
    assert "  Tue 8 Dec 2026 08:00  AUP reminder 2 -> U0AMY" in text.splitlines()
    assert "  Mon 7 Dec 2026 08:00  AUP weekly list: 6 not yet signed -> Helen Brooks" in text.splitlines()


def test_the_command_runs_against_the_database(slack_env: dict[str, str], tmp_path: Path) -> None:
    setup = subprocess.run([sys.executable, "-m", "bot", "setup", str(demo_school_file())],
                           env=slack_env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    result = subprocess.run([sys.executable, "-m", "bot", "reminders", "--dry-run", "--days", "400"],
                            env=slack_env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "a dry run: nothing is sent" in result.stdout
    assert "policy review reminder (30 days): Online Safety Policy -> Helen Brooks, Owen Price" in result.stdout
    refused = subprocess.run([sys.executable, "-m", "bot", "reminders", "--dry-run", "--days", "0"],
                             env=clean_env(**{k: v for k, v in slack_env.items() if k != "PATH"}), cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stderr.strip() == "concernbot: --days must be a number of days from 1 to 400."
