"""`concernbot export --child` and `--staff` as a real process: the whole record, to the entitled only, logged."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.sandbox.client import SlackSimulator, wait_for
from bot.sandbox.demo_workspace import AMY, DAN, DSL_CHANNEL, HELEN, OWEN, PRIYA, TOM
from storage.db import Database
from storage.models import ConcernEvent
from tests.e2e.planted import (
    ACTION_NOTE, ADULT_WORDS, CHILD, CYRILLIC, OBSERVED, OUTCOME, REVIEW_NOTE, SIMILAR, STAFF_ROLE, WORDS,
    act_and_close, adult_steps, child_steps, initial_review, post_for, send,
)
from tests.e2e.test_cli import run
from tests.pdf_text import pdf_text


def _exported(db: Database) -> list[ConcernEvent]:
    with db.session() as session:
        return list(session.scalars(select(ConcernEvent).where(ConcernEvent.kind == "exported")
                                    .order_by(ConcernEvent.concern_id)))


def _files(done, out: Path) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.splitlines()[:-1]]
    assert sorted(p.suffix for p in paths) == [".json", ".pdf"] and all(p.parent == out for p in paths)
    assert sorted(out.iterdir()) == sorted(paths)
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return {p.suffix[1:]: p for p in paths}


def test_a_childs_whole_record_as_pdf_and_json_for_the_dsl_only(slack: SlackSimulator, db: Database,
                                                               slack_env: dict[str, str], tmp_path: Path) -> None:
    first = send(slack, AMY, child_steps(CHILD, CYRILLIC))
    act_and_close(slack, DAN, post_for(slack, DSL_CHANNEL, first))
    send(slack, AMY, child_steps(SIMILAR, words="a different worry about a lighthouse"))
    second = send(slack, PRIYA, child_steps(CHILD.upper(), category="nudes", words="the second worry"))
    initial_review(slack, DAN, post_for(slack, DSL_CHANNEL, second))

    out = tmp_path / "for-the-next-school"
    done = run(["export", "--child", CHILD, "--as", DAN, "--out", str(out)], slack_env, tmp_path)
    files = _files(done, out)
    assert done.stdout.splitlines()[-1] == "2 concerns exported (readable by you only); the export is logged on each."
    assert "Quillfeather" not in done.stdout + done.stderr and "Ковальчук" not in done.stdout + done.stderr

    doc = json.loads(files["json"].read_text(encoding="utf-8"))
    assert doc["export"]["references"] == [first, second] and doc["export"]["subject"] == CHILD
    assert doc["export"]["exported_by"] == {"slack_user_id": DAN, "name": "Dan Hughes"}
    exported_at = datetime.fromisoformat(doc["export"]["exported_at"])  # now, in the school's time
    assert exported_at.utcoffset() == exported_at.astimezone(ZoneInfo("Europe/London")).utcoffset()
    concern = doc["concerns"][0]
    assert concern["summary"]["Category"] == "Grooming" and concern["summary"]["Status"] == "Closed"
    assert concern["summary"]["Reported by"] == {"slack_user_id": AMY, "name": "Amy Clarke"}
    assert concern["summary"]["Reported at"].startswith("2026-11-24T10:00")
    assert [c["Name"] for c in concern["children"]] == [CHILD, CYRILLIC]
    assert concern["children"][0]["Year group"] == "Year 5"
    answers = {a["question"]: a["answer"] for a in concern["report"]}
    assert answers["The child's own words"] == f"{CHILD} said {WORDS}."
    assert answers["What have you observed, and when?"] == OBSERVED
    assert answers["Who is the concern about?"] == "A pupil (or pupils)" and answers["How urgent is it?"] == "Routine"
    assert concern["actions"][0]["Action"] == "Parents / carers informed"
    assert concern["actions"][0]["Details"] == ACTION_NOTE
    assert concern["actions"][0]["Time"] == "09:45" and len(concern["actions"]) == 1
    assert concern["outcome"] == {"Outcome": OUTCOME, "Recorded by": {"slack_user_id": DAN, "name": "Dan Hughes"},
                                  "Recorded at": concern["summary"]["Closed at"]}
    assert [h["To"] for h in concern["status_history"]] == ["New", "Acknowledged", "In progress", "Closed"]
    assert "a different worry about a lighthouse" not in files["json"].read_text(encoding="utf-8")
    review = doc["concerns"][1]["initial_review"]
    assert {a["question"]: a["answer"] for a in review["answers"]} == {
        "Immediate referral to police / children's social care if any apply":
            ["Coercion, blackmail, grooming, or doubt about capacity to consent"],
        "What the meeting established": REVIEW_NOTE,
        "Will parents / carers be told?": "Yes, parents / carers will be told"}

    text = pdf_text(files["pdf"].read_bytes())
    for expected in (f"Safeguarding record A child's record: {CHILD}", f"Concern {first}", f"Concern {second}",
                     CYRILLIC, f"{CHILD} said {WORDS}.", OBSERVED, ACTION_NOTE, OUTCOME, "Parents / carers informed",
                     "Reported by: Amy Clarke (U0AMY)", "Reported at: 24 Nov 2026, 10:00", "the second worry",
                     "What have you observed, and when?", "Category: Sharing nudes / semi-nudes", REVIEW_NOTE,
                     "Initial review (sharing nudes)", "Outcome Recorded: 24 Nov 2026, 10:00 by Dan Hughes (U0DAN)"):
        assert expected in text, expected
    assert SIMILAR not in text and "lighthouse" not in text

    events = _exported(db)
    assert len(events) == 2 and all(e.actor_id == DAN and e.data["export"] == "child" for e in events)


def test_refused_viewers_get_one_sentence_and_nothing_is_written(slack: SlackSimulator, db: Database,
                                                               slack_env: dict[str, str], tmp_path: Path) -> None:
    post_for(slack, DSL_CHANNEL, send(slack, AMY, child_steps(CHILD)))
    out = tmp_path / "export"
    for viewer in (TOM, OWEN, AMY):
        refused = run(["export", "--child", CHILD, "--as", viewer, "--out", str(out)], slack_env, tmp_path)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.strip() == (f"concernbot: {viewer} is not the DSL, a deputy DSL or the headteacher, so "
                                          "may not export a child's record.")
    # The head may, but only what reached her: this one was never escalated.
    refused = run(["export", "--child", CHILD, "--as", HELEN, "--out", str(out)], slack_env, tmp_path)
    assert refused.returncode == 2 and "no concern you may open names a child of that name" in refused.stderr
    assert not out.exists() and _exported(db) == []

    for args, says in ((["export", "--as", DAN], "export needs exactly one of"),
                       (["export", "incidents", "--child", CHILD, "--as", DAN], "export needs exactly one of"),
                       (["export", "--child", CHILD, "--as", DAN], "needs --out DIR"),
                       (["export", "--child", CHILD, "--as", DAN, "--out", str(out), "--format", "docx"],
                        "--format 'docx' is not understood"),
                       (["export", "--child", CHILD, "--as", DAN, "--out", str(out), "--font", "/nonexistent.ttf"],
                        "is not a TrueType or OpenType font file")):
        done = run(args, slack_env, tmp_path)
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not out.exists() and _exported(db) == []


def test_concerns_about_a_member_of_staff_for_the_head_found_by_email(slack: SlackSimulator, db: Database,
                                                                    slack_env: dict[str, str], tmp_path: Path) -> None:
    reference = send(slack, AMY, adult_steps("staff", {"adult_user": TOM, "adult_role": STAFF_ROLE}, ADULT_WORDS))
    wait_for(lambda: any(reference in m.text for m in slack.ws.dms_to(HELEN)), what="the head's DM")
    send(slack, AMY, child_steps(CHILD))
    out = tmp_path / "sar"
    refused = run(["export", "--staff", TOM, "--as", DAN, "--out", str(out)], slack_env, tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip() == (
        "concernbot: U0DAN is not the headteacher, who alone may export the concerns about a member of staff.")
    done = run(["export", "--staff", "tom.reed@oakfield.example", "--as", HELEN, "--out", str(out), "--format", "json"],
               slack_env, tmp_path)
    assert done.returncode == 0, done.stderr
    [path] = [Path(line) for line in done.stdout.splitlines()[:-1]]
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["export"]["subject"] == {"slack_user_id": TOM, "name": "Tom Reed"}
    assert doc["export"]["references"] == [reference]
    answers = {a["question"]: a["answer"] for a in doc["concerns"][0]["report"]}
    assert answers["If they are in this Slack workspace, choose them"] == {"slack_user_id": TOM, "name": "Tom Reed"}
    assert answers["Which is it?"] == "An allegation of harm" and answers["Their job or role"] == STAFF_ROLE
    assert doc["concerns"][0]["summary"]["About"] == "A member of staff"
    [deadline] = doc["concerns"][0]["deadlines"]
    assert deadline["Deadline"] == "Tell the LADO (within one working day)" and deadline["Done at"] is None
    assert [(e.actor_id, e.data) for e in _exported(db)] == [(HELEN, {"export": "staff", "formats": ["json"]})]


def test_the_childs_name_can_be_piped_in_so_it_is_never_on_the_command_line(
        slack: SlackSimulator, slack_env: dict[str, str], tmp_path: Path) -> None:
    import subprocess
    import sys

    send(slack, AMY, child_steps(CHILD, CYRILLIC))
    out = tmp_path / "piped"
    done = subprocess.run([sys.executable, "-m", "bot", "export", "--child", "-", "--as", DAN, "--out", str(out)],
                          env=slack_env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          input=f"{CHILD}\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 concerns exported (readable by you only); the export is logged on each."
    empty = subprocess.run([sys.executable, "-m", "bot", "export", "--child", "-", "--as", DAN, "--out", str(out)],
                           env=slack_env, cwd=tmp_path, capture_output=True, text=True, timeout=60, input="\n")
    assert empty.returncode == 2 and empty.stderr.strip() == (
        "concernbot: export --child - read no name: type the child's full name, or pipe it in.")
