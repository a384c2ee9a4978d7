"""A guided form, rendered as modal steps ("Step 2 of 5", Back, Cancel)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.render.blocks import Block, actions, button, context, modal, plain, section, typed_text
from bot.render.text import safe_section
from flows.forms import Answer, Answers, Form, Kind, Question, Step

STEP_CALLBACK = "report_step"
RESUME_CALLBACK = "report_resume"
BACK_ACTION = "form_back"
RESUME_BLOCK = "resume_choice"


def _option(value: str, label: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": plain(label), "value": value}
    if description:
        option["description"] = plain(description)
    return option


def _element(question: Question, value: Answer) -> dict[str, Any]:
    action_id = question.id
    if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id,
                                   "max_length": question.max_length,
                                   "multiline": question.kind is Kind.LONG_TEXT}
        if isinstance(value, str) and value:
            element["initial_value"] = value
        if question.placeholder:
            element["placeholder"] = plain(question.placeholder)
        return element
    if question.kind is Kind.CHECKBOXES:
        options = [_option(c.value, c.label, c.description) for c in question.choices]
        element = {"type": "checkboxes", "action_id": action_id, "options": options}
        chosen = [o for o in options if isinstance(value, list) and o["value"] in value]
        if chosen:
            element["initial_options"] = chosen
        return element
    if question.kind in (Kind.SELECT, Kind.RADIO):
        # Slack's selects show no descriptions; radio buttons do.
        options = [_option(c.value, c.label, c.description if question.kind is Kind.RADIO else None)
                   for c in question.choices]
        element = {"type": "static_select" if question.kind is Kind.SELECT else "radio_buttons",
                   "action_id": action_id, "options": options}
        if question.kind is Kind.SELECT:
            element["placeholder"] = plain("Choose one")
        chosen = next((o for o in options if o["value"] == value), None)
        if chosen:
            element["initial_option"] = chosen
        return element
    if question.kind is Kind.PERSON:
        element = {"type": "users_select", "action_id": action_id, "placeholder": plain("Choose someone")}
        if isinstance(value, str) and value:
            element["initial_user"] = value
        return element
    if question.kind is Kind.PEOPLE:
        element = {"type": "multi_users_select", "action_id": action_id, "placeholder": plain("Choose people")}
        if isinstance(value, list) and value:
            element["initial_users"] = value
        return element
    if question.kind is Kind.CHANNEL:
        element = {"type": "conversations_select", "action_id": action_id, "placeholder": plain("Choose a channel"),
                   "filter": {"include": ["private", "public"], "exclude_bot_users": True}}
        if isinstance(value, str) and value:
            element["initial_conversation"] = value
        return element
    if question.kind is Kind.DATE:
        element = {"type": "datepicker", "action_id": action_id}
        if isinstance(value, str) and value:
            element["initial_date"] = value
        return element
    element = {"type": "timepicker", "action_id": action_id}
    if isinstance(value, str) and value:
        element["initial_time"] = value
    return element


def input_block(question: Question, value: Answer) -> Block:
    block: Block = {"type": "input", "block_id": question.id, "label": plain(question.label),
                    "optional": not question.required, "element": _element(question, value)}
    if question.hint:
        block["hint"] = plain(question.hint)
    return block


def _string(value: Any) -> str | None:
    """A typed string as given; NUL, which no database column can hold (and Slack never sends), dropped."""
    return value.replace("\x00", "") if isinstance(value, str) else None


def _strings(values: Any) -> list[str]:
    return [s for s in (_string(v) for v in (values if isinstance(values, list) else [])) if s is not None]


def _value(option: Any) -> str | None:
    return _string(option.get("value")) if isinstance(option, dict) else None


def _state_of(state_values: dict[str, Any], question_id: str) -> dict[str, Any]:
    block = state_values.get(question_id) if isinstance(state_values, dict) else None
    state = block.get(question_id) if isinstance(block, dict) else None
    return state if isinstance(state, dict) else {}


def read_answers(step: Step, state_values: dict[str, dict[str, dict[str, Any]]],
                 earlier: Answers) -> dict[str, Answer]:
    """One step's answers from a view's state, as the strings the form engine validates.

    `earlier` is what the draft already holds: it says how many times a repeated step asks. Anything not
    shaped as Slack sends it reads as no answer (the form engine then says what is missing).
    """
    answers: dict[str, Answer] = {}
    for question in step.questions_for(earlier):
        state = _state_of(state_values, question.id)
        if "selected_options" in state:
            answers[question.id] = [v for v in (_value(o) for o in _options(state)) if v is not None]
        elif "selected_option" in state:
            answers[question.id] = _value(state.get("selected_option"))
        elif "selected_users" in state:
            answers[question.id] = _strings(state.get("selected_users"))
        else:
            key = next((k for k in ("selected_user", "selected_conversation", "selected_date", "selected_time")
                        if k in state), "value")
            answers[question.id] = _string(state.get(key))
    return answers


def _options(state: dict[str, Any]) -> list[Any]:
    options = state.get("selected_options")
    return options if isinstance(options, list) else []


def _shown(question: Question, raw: Answer) -> str:
    if isinstance(raw, list):
        return "; ".join(question.choice_label(v) or v for v in raw) or "(none)"
    return question.choice_label(raw) or raw or "(not given)"


def _review_blocks(form: Form, answers: Answers, today: date) -> list[Block]:
    blocks: list[Block] = []
    for question in form.questions(answers, today):
        blocks += [context(f"*{question.label}*"), typed_text(_shown(question, answers.get(question.id)))]
    return blocks


def step_view(form: Form, step: Step, answers: Answers, metadata: str, today: date, *,
              notice: str | None = None) -> dict:
    position = form.position(step.id, answers, today)
    blocks: list[Block] = [context(f"{position} · *{step.title}*")]
    if notice:
        blocks.append(section(f":warning: {notice}"))
    if step.intro:
        blocks.append(section(step.intro))
    for guidance in step.guidance_for(answers, today):
        blocks.append(section((":warning: " if guidance.warning else ":information_source: ") + guidance.text))
    blocks += [input_block(q, answers.get(q.id)) for q in step.questions_for(answers)]
    if step.is_review:
        blocks += _review_blocks(form, answers, today)
    if form.previous_step(step.id, answers, today) is not None:
        blocks.append(actions(button("Back", BACK_ACTION), block_id="navigation"))
    last = form.next_step(step.id, answers, today) is None
    return modal(form.title, blocks, callback_id=STEP_CALLBACK,
                 submit=form.submit_label if last else "Next", close="Cancel",
                 private_metadata=metadata, notify_on_close=True)


def single_step_view(form: Form, values: Answers, metadata: str, callback_id: str, today: date,
                     header_text: str | None = None) -> dict:
    """A one-step form (an action, an assignment, an outcome) as a modal."""
    step = form.first_step
    blocks: list[Block] = [safe_section(header_text)] if header_text else []  # may quote a title: verbatim
    if step.intro:
        blocks.append(section(step.intro))
    for guidance in step.guidance_for(values, today):
        blocks.append(section(guidance.text))
    blocks += [input_block(q, values.get(q.id)) for q in step.questions_for(values)]
    return modal(form.title[:24], blocks, callback_id=callback_id, submit=form.submit_label, close="Cancel",
                 private_metadata=metadata)


def resume_view(form: Form, started: str, metadata: str) -> dict:
    choice = {
        "type": "input", "block_id": RESUME_BLOCK, "label": plain("What would you like to do?"),
        "element": {"type": "radio_buttons", "action_id": RESUME_BLOCK,
                    "options": [_option("resume", "Carry on with it"),
                                _option("discard", "Throw it away and start a new one")],
                    "initial_option": _option("resume", "Carry on with it")},
    }
    blocks = [section(f"You started a report on {started} that hasn't been sent yet. "
                      "Everything you typed was saved."), choice]
    return modal(form.title, blocks, callback_id=RESUME_CALLBACK, submit="Continue", close="Cancel",
                 private_metadata=metadata)


def recorded_view(reference: str, *, immediate_risk: bool, about_adult: bool = False) -> dict:
    # A concern about an adult goes only to whoever the policy names (the head, or the chair), never the team.
    who = "The person the school's policy names is" if about_adult else "The safeguarding team is"
    blocks = [section(f":white_check_mark: *Recorded as {reference}.*"),
              section(f"{who} being notified now. You'll get a direct message when "
                      "someone has picked it up. Please don't discuss it with others.")]
    if immediate_risk:
        blocks.append(section(":rotating_light: If a child is in danger, don't wait for a reply: call 999 "
                              "and find the DSL in person."))
    return modal("Report a concern", blocks, close="Done")


def notice_view(title: str, text: str) -> dict:
    return modal(title, [section(text)], close="Close")


def quoting_notice_view(title: str, text: str) -> dict:
    """A notice whose sentence quotes what someone typed: all plain text, so the quote stays inert."""
    return modal(title, [typed_text(text)], close="Close")


NOTICE_BLOCK = "concernbot_notice"
_SHOWN_AGAIN = ("type", "title", "submit", "close", "callback_id", "private_metadata", "notify_on_close",
                "clear_on_close")


def with_notice(view: Any, text: str) -> dict[str, Any] | None:
    """The modal someone submitted, shown again with one sentence at the top: for a step with nothing to
    type, where Slack has no field to put an error on. Built from the submitted view alone (it needs no
    database). None when the submission holds no modal we could show again."""
    if not isinstance(view, dict) or view.get("type") != "modal" or not isinstance(view.get("title"), dict):
        return None
    blocks = view.get("blocks")
    kept = [b for b in blocks if isinstance(b, dict) and b.get("block_id") != NOTICE_BLOCK] \
        if isinstance(blocks, list) else []
    notice = {**section(f":warning: {text}"), "block_id": NOTICE_BLOCK}
    return {**{k: view[k] for k in _SHOWN_AGAIN if k in view}, "blocks": [notice, *kept][:100]}


def first_input(view: Any) -> str | None:
    """The block id of the first input in a submitted modal: where Slack can show an error sentence."""
    blocks = view.get("blocks") if isinstance(view, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and isinstance(block.get("block_id"), str):
            return block["block_id"]
    return None


EXPIRED_TEXT = ("This form is out of date, so nothing was changed. Run `/report-concern` again: "
                "any answers you saved are still there.")
