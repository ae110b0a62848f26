"""Modals for curation (edit, reject, find an entry) and for an expert's own settings."""

from __future__ import annotations

from datetime import date

from bot import ids
from bot.blocks.kit import actions, button, context, one_line, section
from bot.slack_text import escape, trim
from knowledge.models import Entry, EntryStatus


def _title(text: str) -> dict:
    return {"type": "plain_text", "text": text[:24]}


def _input(block_id: str, label: str, element: dict, optional: bool = False,
           hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "optional": optional,
             "label": {"type": "plain_text", "text": label}, "element": element}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _text(action_id: str, initial: str = "", multiline: bool = False,
          max_length: int = 3000) -> dict:
    element = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline,
               "max_length": max_length}
    if initial:
        element["initial_value"] = trim(initial, max_length)
    return element


def entry_modal(entry: Entry, mode: str) -> dict:
    """Edit an entry; mode "approve" publishes it on submit, "edit" only saves."""
    submit = "Save and approve" if mode == "approve" else "Save"
    return {
        "type": "modal", "callback_id": ids.ADMIN_ENTRY_MODAL,
        "private_metadata": f"{mode}:{entry.id}",
        "title": _title(f"Entry #{entry.id}"), "submit": _title(submit),
        "close": _title("Cancel"),
        "blocks": [
            _input(ids.ENTRY_QUESTION, "Question", _text(ids.ENTRY_QUESTION, entry.question,
                                                         max_length=2000)),
            _input(ids.ENTRY_ANSWER, "Answer", _text(ids.ENTRY_ANSWER, entry.answer,
                                                     multiline=True)),
            _input(ids.ENTRY_TAGS, "Tags", _text(ids.ENTRY_TAGS, ", ".join(entry.tags),
                                                 max_length=500), optional=True,
                   hint="Comma-separated, e.g. billing, refunds"),
            _input(ids.ENTRY_VISIBILITY, "Visibility",
                   _text(ids.ENTRY_VISIBILITY, str(entry.visibility), max_length=500),
                   hint="public, channel:C0123 or users:U01,U02"),
        ],
    }


def reject_modal(entry: Entry) -> dict:
    return {
        "type": "modal", "callback_id": ids.ADMIN_REJECT_MODAL,
        "private_metadata": str(entry.id), "title": _title("Reject an answer"),
        "submit": _title("Reject"), "close": _title("Cancel"),
        "blocks": [
            section(f"*{escape(entry.question)}*"),
            _input(ids.REJECT_REASON, "Why? (sent to the person who answered)",
                   _text(ids.REJECT_REASON, multiline=True, max_length=1000)),
        ],
    }


def find_modal() -> dict:
    return {
        "type": "modal", "callback_id": ids.ADMIN_FIND_MODAL, "title": _title("Find an entry"),
        "submit": _title("Find"), "close": _title("Close"),
        "blocks": [_input(ids.FIND_TEXT, "Words from the question, or #id",
                          _text(ids.FIND_TEXT, max_length=500))],
    }


def found_modal(query: str, entries: list[Entry]) -> dict:
    blocks: list[dict] = [
        context(f"Entries for “{escape(query)}” (published, pending and retired):")]
    if not entries:
        blocks.append(section("_Nothing found._"))
    for entry in entries[:8]:
        status = entry.status.value.replace("_", " ")
        verified = " · verified" if entry.verified_at else ""
        blocks.append(section(f"#{entry.id} *{one_line(entry.question, 2_000)}*\n"
                              f"_{status}{verified}_"))
        value = str(entry.id)
        change = (button("Restore", ids.ADMIN_RESTORE, value)
                  if entry.status is EntryStatus.RETIRED
                  else button("Retire", ids.ADMIN_RETIRE, value, "danger"))
        blocks.append(actions(f"found_{entry.id}",
                              button("Edit", ids.ADMIN_EDIT, f"edit:{value}"),
                              button("Verify", ids.ADMIN_VERIFY, value), change))
    return {"type": "modal", "callback_id": "admin_found", "title": _title("Entries"),
            "close": _title("Close"), "blocks": blocks}


def topics_modal(topics: list[str]) -> dict:
    return {
        "type": "modal", "callback_id": ids.EXPERT_TOPICS_MODAL,
        "title": _title("Your topics"), "submit": _title("Save"), "close": _title("Cancel"),
        "blocks": [_input(ids.EXPERT_TOPICS_INPUT, "What can people ask you about?",
                          _text(ids.EXPERT_TOPICS_INPUT, ", ".join(topics), max_length=500),
                          optional=True, hint="Comma-separated, e.g. billing, vpn, security")],
    }


def away_modal(today: date) -> dict:
    return {
        "type": "modal", "callback_id": ids.EXPERT_AWAY_MODAL,
        "title": _title("Away"), "submit": _title("Save"), "close": _title("Cancel"),
        "blocks": [_input(ids.EXPERT_AWAY_DATE, "Don't ask me until (the end of)", {
            "type": "datepicker", "action_id": ids.EXPERT_AWAY_DATE,
            "initial_date": today.isoformat()})],
    }
