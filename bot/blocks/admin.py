"""Modals for curation (edit, reject, find an entry, an entry's phrasings) and for an expert's
own settings."""

from __future__ import annotations

from datetime import date

from bot import ids
from bot.blocks.kit import actions, button, context, one_line, section
from bot.slack_text import escape, trim
from knowledge.models import Entry, EntryStatus
from knowledge.phrasings import Phrasing, PhrasingSource

MAX_PHRASINGS_SHOWN = 40  # a modal holds 100 blocks; `switchboard phrasings ID` lists them all
SOURCES = {
    PhrasingSource.SOLVED: "said it solved their question",
    PhrasingSource.NOT_HELPFUL: "said it did not help (pushes the entry down)",
    PhrasingSource.EXPERT: "the question an expert answered",
    PhrasingSource.MERGE: "the question of a merged entry",
    PhrasingSource.LEARN: "recorded in bulk (switchboard learn)",
}


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


def entry_modal(entry: Entry, mode: str, phrasings: int = 0) -> dict:
    """Edit an entry; mode "approve" publishes it on submit, "edit" only saves. With
    `phrasings` (how many it has), a button lists them."""
    submit = "Save and approve" if mode == "approve" else "Save"
    listed = ([actions("entry_phrasings", phrasings_button(entry.id, phrasings))]
              if phrasings else [])
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
            *listed,
        ],
    }


def phrasings_button(entry_id: int, count: int) -> dict:
    return button(f"Phrasings ({count})" if count else "Phrasings", ids.ADMIN_PHRASINGS,
                  str(entry_id))


def phrasings_modal(entry: Entry, phrasings: list[Phrasing]) -> dict:
    """An entry's active phrasings (the wordings people found it by), each removable."""
    active = [p for p in phrasings if p.is_active]
    blocks: list[dict] = [
        section(f"*{one_line(entry.question, 2_000)}*"),
        context("Other wordings of this question, learned from the people who asked them. "
                "Search finds the entry by them, trusting each by how many people confirmed it. "
                "Remove one that is wrong: it stops counting at once."),
    ]
    if not active:
        blocks.append(section("_No phrasings yet._"))
    for phrasing in active[:MAX_PHRASINGS_SHOWN]:
        people = "1 person" if phrasing.votes == 1 else f"{phrasing.votes} people"
        sign = ":heavy_minus_sign: " if phrasing.polarity < 0 else ""
        blocks.append(section(
            f"{sign}“{one_line(phrasing.text, 1_500)}”\n"
            f"_{people} · {SOURCES.get(phrasing.source, phrasing.source.value)} · "
            f"{phrasing.created_at:%-d %b %Y}_",
            accessory=_remove_button(phrasing)))
    if len(active) > MAX_PHRASINGS_SHOWN:
        blocks.append(context(f"… and {len(active) - MAX_PHRASINGS_SHOWN} more: "
                              f"`switchboard phrasings {entry.id}` lists them all."))
    return {"type": "modal", "callback_id": ids.ADMIN_PHRASINGS_MODAL,
            "private_metadata": str(entry.id), "title": _title(f"Phrasings of #{entry.id}"),
            "close": _title("Close"), "blocks": blocks}


def _remove_button(phrasing: Phrasing) -> dict:
    return {**button("Remove", ids.ADMIN_REMOVE_PHRASING, str(phrasing.id), "danger"),
            "confirm": {
                "title": {"type": "plain_text", "text": "Remove this phrasing?"},
                "text": {"type": "plain_text",
                         "text": trim(f"Search stops using “{phrasing.text}” for this entry.",
                                      300)},
                "confirm": {"type": "plain_text", "text": "Remove"},
                "deny": {"type": "plain_text", "text": "Keep it"},
                "style": "danger"}}


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


def found_modal(query: str, entries: list[Entry], phrasings: dict[int, int] | None = None
                ) -> dict:
    """The entries an admin's search found; `phrasings`: how many each has."""
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
                              button("Verify", ids.ADMIN_VERIFY, value), change,
                              phrasings_button(entry.id, (phrasings or {}).get(entry.id, 0))))
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
