"""User text, shown safely: the helpers every renderer uses for what someone typed."""

from __future__ import annotations

from bot.render.form import first_input, read_answers, with_notice
from bot.render.text import ZERO_WIDTH, in_mrkdwn, safe_section, typed_section, user_text
from flows.report_form import REPORT_FORM


def test_typed_text_is_plain_text_shown_exactly() -> None:
    typed = "<!channel> *bold* :tada: مرحبا\t\u202e"
    assert user_text(typed) == {"type": "plain_text", "text": typed, "emoji": False}
    assert typed_section(typed)["text"]["text"] == typed
    assert user_text("")["text"] == " "  # Slack refuses an empty text object


def test_in_mrkdwn_cannot_ping_link_or_format() -> None:
    shown = in_mrkdwn("<!here> <@U1> <#C1> <https://evil.example|click> & *b* _i_ ~s~ `c`\n> quote")
    assert "<" not in shown and ">" not in shown.replace("&gt;", "")
    assert "&lt;!here&gt;" in shown and "&amp;" in shown
    for mark in ("*", "_", "~", "`"):
        assert all(shown[i + 1] == ZERO_WIDTH for i, c in enumerate(shown) if c == mark)
    assert f"\n{ZERO_WIDTH}&gt; quote" in shown  # a quote mark at the start of a line quotes nothing
    assert "https://" not in shown and f"https:{ZERO_WIDTH}//evil.example" in shown
    assert in_mrkdwn("Oakfield Primary, 01234 567890") == "Oakfield Primary, 01234 567890"  # plain words as given
    assert safe_section("x")["text"] == {"type": "mrkdwn", "text": "x", "verbatim": True}


def test_answers_are_read_as_typed_and_misshapen_state_reads_as_no_answer() -> None:
    step = REPORT_FORM.step("account")
    state = {"why_concerned": {"why_concerned": {"type": "plain_text_input", "value": "said\x00 <!here> \u200f"}},
             "observed": {"observed": {"type": "plain_text_input", "value": 42}},
             "heard": {"heard": "not a dict"},
             "told": {"told": {"type": "plain_text_input", "value": None}}}
    answers = read_answers(step, state, {})
    assert answers["why_concerned"] == "said <!here> \u200f"  # NUL, which no column can hold, is dropped
    assert answers["observed"] is None and answers["heard"] is None and answers["told"] is None
    concern = REPORT_FORM.step("concern")
    odd = {"category": {"category": {"type": "static_select", "selected_option": "grooming"}},
           "involves": {"involves": {"type": "checkboxes", "selected_options": [{"value": 1}, "x", {"value": "a"}]}}}
    assert read_answers(concern, odd, {}) == {"category": None, "urgency": None, "involves": ["a"]}


def test_a_submitted_modal_can_be_shown_again_with_a_notice_and_no_database() -> None:
    submitted = {"id": "V1", "hash": "h", "state": {"values": {}}, "type": "modal", "callback_id": "report_step",
                 "title": {"type": "plain_text", "text": "Report a concern"}, "private_metadata": "sig.{}",
                 "submit": {"type": "plain_text", "text": "Send"}, "blocks": [{"type": "section", "block_id": "b1"}]}
    again = with_notice(submitted, "Not saved.")
    assert again is not None and set(again) == {"type", "title", "submit", "callback_id", "private_metadata", "blocks"}
    assert again["blocks"][0]["text"]["text"] == ":warning: Not saved." and again["blocks"][1:] == submitted["blocks"]
    assert with_notice({**submitted, "blocks": again["blocks"]}, "Still not.")["blocks"][0]["text"]["text"] \
        == ":warning: Still not."  # one notice, never a pile of them
    assert with_notice("not a view", "x") is None and with_notice({"type": "home"}, "x") is None
    assert first_input({"blocks": [{"type": "section"}, {"type": "input", "block_id": "name"}]}) == "name"
    assert first_input({"blocks": "nonsense"}) is None
