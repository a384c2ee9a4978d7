"""Rendering: every view and message the bot can make passes Slack's Block Kit limits, and what a
person typed is shown as plain text (so it can never ping anyone or become a link)."""

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from bot.metadata import FormMetadata, MetadataCodec, MetadataError
from bot.render import messages
from bot.render.form import read_answers, resume_view, step_view
from bot.render.record import record_view, refusal_view
from bot.sandbox.blockkit import check_message, check_view
from bot.sandbox.client import state_values
from flows.concern import Category, Status, SubjectKind, Urgency
from flows.report_form import REPORT_FORM, ReportAnswers
from storage.access import ConcernRecord, ConcernSummary
from tests.unit.test_forms import COMPLETE, TODAY

HOSTILE = "<!channel> <@U0DAN> *bold* <https://evil.example|click> ١٢٣ 🙂 '; DROP TABLE concerns; --"


def summary(**changes) -> ConcernSummary:  # type: ignore[no-untyped-def]
    values = dict(id=7, team_id="T1", reference="OS-2026-0007", subject_kind=SubjectKind.PUPIL,
                  category=Category.NUDES, urgency=Urgency.IMMEDIATE, status=Status.NEW, reporter_id="U0AMY",
                  reported_at=datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc), occurred_on=date(2026, 11, 24),
                  reported_late=False,
                  acknowledged_by=None, acknowledged_at=None)
    return ConcernSummary(**{**values, **changes})


@pytest.mark.parametrize("step", [s.id for s in REPORT_FORM.steps])
def test_every_step_is_a_valid_modal_within_limits(step: str) -> None:
    answers = {**COMPLETE, "why_concerned": "x" * 3000, "child_count": "6", "urgency": "immediate",
               "category": "nudes", "involves": ["illegal_material", "unsuitable_site"], "occurred_on": "2026-11-01",
               **{f"child_name_{i}": "y" * 150 for i in range(1, 7)}}
    view = step_view(REPORT_FORM, REPORT_FORM.step(step), answers, "m" * 200, TODAY)
    assert check_view(view) == []
    assert view["notify_on_close"] is True
    has_back = any(b.get("block_id") == "navigation" for b in view["blocks"])
    assert has_back is (REPORT_FORM.previous_step(step, answers, TODAY) is not None)
    assert has_back is (step not in ("about", "adult", "other_person", "data", "urgent_notes"))  # off this path
    assert view["submit"]["text"] == ("Send to DSL team" if step == "review" else "Next")


def test_answers_round_trip_through_a_view_state() -> None:
    answers = {**COMPLETE, "involves": ["unsuitable_site"], "device": "Laptop 7", "username": "",
               "late_reason": "", "date_of_birth_1": "2017-03-02"}
    for step in REPORT_FORM.steps:
        view = step_view(REPORT_FORM, step, answers, "m", TODAY)
        read = read_answers(step, state_values(view, {}), answers)
        assert read == {q.id: answers.get(q.id) or None for q in step.questions_for(answers)}


def test_typed_text_is_shown_as_plain_text_only() -> None:
    view = step_view(REPORT_FORM, REPORT_FORM.step("review"), {**COMPLETE, "why_concerned": HOSTILE}, "m", TODAY)
    shown = [b for b in view["blocks"] if b.get("text", {}).get("text") == HOSTILE]
    assert shown and all(b["text"]["type"] == "plain_text" for b in shown)


def test_messages_carry_no_child_detail_and_stay_within_limits() -> None:
    for text, blocks in (messages.dsl_alert(summary(), "Europe/London"),
                         messages.reporter_receipt(summary(), "Europe/London"),
                         messages.reporter_acknowledged(summary(acknowledged_by="U0DAN",
                             acknowledged_at=datetime(2026, 11, 24, 10, 5, tzinfo=timezone.utc)), "Europe/London")):
        assert check_message(text, blocks) == []
        assert "OS-2026-0007" in text


def test_the_dsl_post_changes_with_the_status() -> None:
    text, blocks = messages.dsl_alert(summary(), "Europe/London")
    assert text.startswith(":rotating_light:") and "· New" in text
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [messages.ACKNOWLEDGE_ACTION, messages.OPEN_RECORD_ACTION]
    acked = summary(status=Status.ACKNOWLEDGED, acknowledged_by="U0DAN",
                    acknowledged_at=datetime(2026, 11, 24, 10, 5, tzinfo=timezone.utc))
    text, blocks = messages.dsl_alert(acked, "Europe/London")
    assert "Acknowledged by <@U0DAN> at 24 Nov 2026, 10:05" in text
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [messages.INITIAL_REVIEW_ACTION, messages.RECORD_ACTION_ACTION, messages.ASSIGN_ACTION,
                       messages.CLOSE_ACTION, messages.OPEN_RECORD_ACTION]
    _, blocks = messages.dsl_alert(replace(acked, has_initial_review=True, immediate_referral=True), "Europe/London")
    assert messages.INITIAL_REVIEW_ACTION not in repr(blocks) and "Immediate referral required" in repr(blocks)
    closed = summary(status=Status.CLOSED, acknowledged_by="U0DAN", closed_by="U0PRIYA",
                     acknowledged_at=datetime(2026, 11, 24, 10, 5, tzinfo=timezone.utc),
                     closed_at=datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc), assigned_to="U0PRIYA")
    text, blocks = messages.dsl_alert(closed, "Europe/London")
    assert "Closed by <@U0PRIYA> at 25 Nov 2026, 15:00" in text and "*Assigned to:* <@U0PRIYA>" in repr(blocks)
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [messages.OPEN_RECORD_ACTION]


def test_the_record_modal_shows_the_detail_as_plain_text() -> None:
    answers = ReportAnswers.from_answers({**COMPLETE, "why_concerned": HOSTILE + "x" * (3000 - len(HOSTILE))}, TODAY)
    view = record_view(ConcernRecord(summary(), answers, history=[], events=[]), "Europe/London")
    assert check_view(view) == []
    account = [b for b in view["blocks"] if b.get("text", {}).get("text", "").startswith(HOSTILE)]
    assert account[0]["text"]["type"] == "plain_text"
    assert check_view(refusal_view()) == []
    assert check_view(resume_view(REPORT_FORM, "24 Nov 2026, 09:00", "m")) == []


def test_a_late_concern_says_so_on_the_post() -> None:
    _, blocks = messages.dsl_alert(summary(reported_late=True, occurred_on=date(2026, 11, 20)), "Europe/London")
    assert "Recorded late: it happened on 20 Nov 2026." in repr(blocks)


def test_metadata_is_signed_and_checked() -> None:
    codec = MetadataCodec("secret")
    raw = codec.dump(FormMetadata(draft_id="d1", step_id="when"))
    assert codec.load(FormMetadata, raw) == FormMetadata(draft_id="d1", step_id="when")
    forged = raw.replace('"d1"', '"d2"')
    for bad in (forged, "", "nonsense", raw.split(".")[0]):
        with pytest.raises(MetadataError):
            codec.load(FormMetadata, bad)
    with pytest.raises(MetadataError):
        MetadataCodec("another secret").load(FormMetadata, raw)


def test_every_choice_in_every_form_fits_slacks_option_limits() -> None:
    from flows.handling import ACTION_FORM, ASSIGN_FORM, CLOSE_FORM
    from flows.nudes import INITIAL_REVIEW_FORM

    for form in (REPORT_FORM, ACTION_FORM, ASSIGN_FORM, CLOSE_FORM, INITIAL_REVIEW_FORM):
        for step in form.steps:
            for question in step.questions_for({"child_count": "6"}):
                for choice in question.choices:
                    assert len(choice.label) <= 75, (form.id, question.id, choice.label)
                    assert len(choice.description or "") <= 75, (form.id, question.id, choice.description)


def test_a_very_long_record_still_opens() -> None:
    from types import SimpleNamespace

    many = {**COMPLETE, "child_count": "6", **{f"child_name_{i}": f"Child {i}" for i in range(1, 7)},
            **{f"year_group_{i}": "year_5" for i in range(1, 7)}, "others_present": "x", "late_reason": "y",
            "observed": "o", "heard": "h", "device": "d", "username": "u", "occurred_on": "2026-11-20"}
    answers = ReportAnswers.from_answers(many, TODAY)
    when = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    actions = [SimpleNamespace(kind="other", taken_on=date(2026, 11, 24), taken_time=None, note=f"note {i}",
                               recorded_by="U0DAN", recorded_at=when) for i in range(60)]
    events = [SimpleNamespace(kind="record_viewed", actor_id="U0DAN", at=when, data={}) for _ in range(200)]
    chronology = [[summary(reference=f"OS-2026-{n:04d}") for n in range(20)] for _ in range(6)]
    record = ConcernRecord(summary(assigned_to="U0DAN"), answers, history=[], events=events, actions=actions,
                           chronology=chronology)
    view = record_view(record, "Europe/London")
    assert check_view(view) == [] and len(view["blocks"]) <= 100
    assert "Showing the latest 20 of 60 actions" in repr(view)


def test_the_error_handler_logs_where_not_what(caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from pydantic import BaseModel

    from bot.app import on_error

    class Form(BaseModel):
        when: date

    typed = "Robin " + "Secret" + "name said hello"  # built at run time, so no source line contains it
    try:
        Form.model_validate({"when": typed})
    except Exception as error:  # noqa: BLE001
        with caplog.at_level(logging.ERROR):
            on_error(error, {"type": "view_submission", "view": {"callback_id": "concern_action_form"}})
    logged = caplog.text
    assert "ValidationError" in logged and "concern_action_form" in logged
    assert "Secretname" not in logged


def test_the_records_history_says_what_each_export_hold_and_email_was() -> None:
    from bot.render.record import _event_words

    assert _event_words("exported", {}) == "exported it in the incident log"
    assert _event_words("exported", {"export": "child", "formats": ["pdf"]}).startswith("exported it in a child's")
    assert _event_words("exported", {"export": "staff"}).startswith("exported it in a member of staff's")
    assert _event_words("legal_hold", {}).startswith("put it under a legal hold")
    assert _event_words("legal_hold_released", {}) == "lifted the legal hold"
    assert _event_words("emailed", {"to": "fallback"}).startswith("emailed the school's fallback address")
    assert _event_words("something_new", {}) == "something new"  # never a raw identifier
