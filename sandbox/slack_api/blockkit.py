"""Pure Block Kit validator used by the fake Slack server (and usable directly in unit tests).

It enforces Slack's documented limits (docs.slack.dev "Block Kit" reference pages) and returns
human-readable problems such as ``"blocks[2].text.text: 3001 characters, max 3000"`` instead of
raising, whatever JSON-like value it is given.  An empty list means "Slack would accept this
as far as we check".  Only structure and limits are checked, not rendering.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Problems = list[str]

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
MAX_MESSAGE_TEXT = 40_000
MAX_MARKDOWN_TOTAL = 12_000
TEXT_TYPES = ("plain_text", "mrkdwn")
SELECTS = frozenset(f"{prefix}{kind}_select" for prefix in ("", "multi_")
                    for kind in ("static", "external", "users", "conversations", "channels"))
INTERACTIVE = SELECTS | {"button", "checkboxes", "datepicker", "datetimepicker", "overflow",
                         "radio_buttons", "timepicker", "workflow_button"}
INPUT_ELEMENTS = (INTERACTIVE - {"button", "overflow", "workflow_button"}) | {
    "plain_text_input", "email_text_input", "url_text_input", "number_input",
    "rich_text_input", "file_input"}
ACCESSORIES = INTERACTIVE | {"image"}


def _len(value: Any, path: str, out: Problems, limit: int, *, required: bool = False) -> None:
    """Check an optional (or required) string field against a maximum length."""
    if value is None:
        if required:
            out.append(f"{path}: required")
    elif not isinstance(value, str):
        out.append(f"{path}: must be a string, got {type(value).__name__}")
    elif len(value) > limit:
        out.append(f"{path}: {len(value)} characters, max {limit}")


def _text(obj: Any, path: str, out: Problems, limit: int | None = None, *,
          plain: bool = False, required: bool = True) -> None:
    """Check a text composition object (plain_text or mrkdwn)."""
    if obj is None:
        if required:
            out.append(f"{path}: required")
        return
    if not isinstance(obj, dict):
        out.append(f"{path}: must be a text object, got {type(obj).__name__}")
        return
    kind = obj.get("type")
    if kind not in TEXT_TYPES:
        out.append(f"{path}.type: must be plain_text or mrkdwn, got {kind!r}")
    elif plain and kind != "plain_text":
        out.append(f"{path}.type: must be plain_text, got {kind!r}")
    if "emoji" in obj and kind != "plain_text":
        out.append(f"{path}.emoji: only allowed on plain_text")
    if "verbatim" in obj and kind != "mrkdwn":
        out.append(f"{path}.verbatim: only allowed on mrkdwn")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        out.append(f"{path}.text: must be a non-empty string")
    elif limit is not None and len(text) > limit:
        out.append(f"{path}.text: {len(text)} characters, max {limit}")


def _list(value: Any, path: str, out: Problems, *, low: int = 0,
          high: int | None = None) -> list[Any]:
    """Check a list field's length; returns the list (or [] when it is not one)."""
    if not isinstance(value, list):
        out.append(f"{path}: must be a list")
        return []
    if len(value) < low:
        out.append(f"{path}: {len(value)} items, min {low}")
    if high is not None and len(value) > high:
        out.append(f"{path}: {len(value)} items, max {high}")
    return value


def _option(obj: Any, path: str, out: Problems, *, plain: bool, url: bool = False) -> None:
    """Check an option object (select menus, overflow, checkboxes, radio buttons)."""
    if not isinstance(obj, dict):
        out.append(f"{path}: must be an option object")
        return
    _text(obj.get("text"), f"{path}.text", out, 75, plain=plain)
    _len(obj.get("value"), f"{path}.value", out, 150, required=True)
    _text(obj.get("description"), f"{path}.description", out, 75, plain=plain, required=False)
    if url:
        _len(obj.get("url"), f"{path}.url", out, 3000)
    elif "url" in obj:
        out.append(f"{path}.url: only allowed in overflow menus")


def _image_element(el: dict[str, Any], path: str, out: Problems) -> None:
    """Check an image element or image block's image source and alt text."""
    _len(el.get("alt_text"), f"{path}.alt_text", out, 2000, required=True)
    if "slack_file" not in el:
        _len(el.get("image_url"), f"{path}.image_url", out, 3000, required=True)


def _element(el: Any, path: str, out: Problems, allowed: frozenset[str] | set[str]) -> None:
    """Check one block element (button, select, input, ...) allowed in this position."""
    if not isinstance(el, dict):
        out.append(f"{path}: must be an element object")
        return
    kind = el.get("type")
    if not isinstance(kind, str) or kind not in allowed:
        out.append(f"{path}.type: {kind!r} is not allowed here")
        return
    if kind == "image":
        _image_element(el, path, out)
        return
    _len(el.get("action_id"), f"{path}.action_id", out, 255)
    if "placeholder" in el:
        _text(el["placeholder"], f"{path}.placeholder", out, 150, plain=True)
    if kind == "button":
        _text(el.get("text"), f"{path}.text", out, 75, plain=True)
        _len(el.get("value"), f"{path}.value", out, 2000)
        _len(el.get("url"), f"{path}.url", out, 3000)
        if "style" in el and el["style"] not in ("primary", "danger"):
            out.append(f"{path}.style: must be primary or danger, got {el['style']!r}")
    elif kind == "overflow":
        for i, opt in enumerate(_list(el.get("options"), f"{path}.options", out, low=2, high=5)):
            _option(opt, f"{path}.options[{i}]", out, plain=True, url=True)
    elif kind in ("checkboxes", "radio_buttons"):
        for i, opt in enumerate(_list(el.get("options"), f"{path}.options", out, low=1, high=10)):
            _option(opt, f"{path}.options[{i}]", out, plain=False)
    elif kind in ("static_select", "multi_static_select"):
        _static_select(el, path, out)
    elif kind == "plain_text_input":
        for key, low in (("min_length", 0), ("max_length", 1)):
            value = el.get(key)
            if value is not None and (type(value) is not int or not low <= value <= 3000):
                out.append(f"{path}.{key}: must be an integer from {low} to 3000, got {value!r}")


def _static_select(el: dict[str, Any], path: str, out: Problems) -> None:
    """Check a static select's options or option groups."""
    if ("options" in el) == ("option_groups" in el):
        out.append(f"{path}: exactly one of options or option_groups is required")
    if "options" in el:
        for i, opt in enumerate(_list(el["options"], f"{path}.options", out, low=1, high=100)):
            _option(opt, f"{path}.options[{i}]", out, plain=True)
    groups = _list(el.get("option_groups", []), f"{path}.option_groups", out, high=100)
    for g, group in enumerate(groups):
        gpath = f"{path}.option_groups[{g}]"
        if not isinstance(group, dict):
            out.append(f"{gpath}: must be an option group object")
            continue
        _text(group.get("label"), f"{gpath}.label", out, 75, plain=True)
        options = _list(group.get("options"), f"{gpath}.options", out, low=1, high=100)
        for i, opt in enumerate(options):
            _option(opt, f"{gpath}.options[{i}]", out, plain=True)


def _section(block: dict[str, Any], path: str, out: Problems) -> None:
    if "text" not in block and "fields" not in block:
        out.append(f"{path}: section needs text or fields")
    if "text" in block:
        _text(block["text"], f"{path}.text", out, 3000)
    if "fields" in block:
        for i, field in enumerate(_list(block["fields"], f"{path}.fields", out, low=1, high=10)):
            _text(field, f"{path}.fields[{i}]", out, 2000)
    if "accessory" in block:
        _element(block["accessory"], f"{path}.accessory", out, ACCESSORIES)


def _header(block: dict[str, Any], path: str, out: Problems) -> None:
    _text(block.get("text"), f"{path}.text", out, 150, plain=True)


def _context(block: dict[str, Any], path: str, out: Problems) -> None:
    for i, el in enumerate(_list(block.get("elements"), f"{path}.elements", out, low=1, high=10)):
        epath = f"{path}.elements[{i}]"
        if isinstance(el, dict) and el.get("type") == "image":
            _image_element(el, epath, out)
        else:
            _text(el, epath, out)


def _actions(block: dict[str, Any], path: str, out: Problems) -> None:
    seen: set[str] = set()
    for i, el in enumerate(_list(block.get("elements"), f"{path}.elements", out, low=1, high=25)):
        _element(el, f"{path}.elements[{i}]", out, INTERACTIVE)
        action_id = el.get("action_id") if isinstance(el, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                out.append(f"{path}.elements[{i}].action_id: duplicate {action_id!r} in this block")
            seen.add(action_id)


def _input(block: dict[str, Any], path: str, out: Problems) -> None:
    _text(block.get("label"), f"{path}.label", out, 2000, plain=True)
    _text(block.get("hint"), f"{path}.hint", out, 2000, plain=True, required=False)
    if "element" not in block:
        out.append(f"{path}.element: required")
    else:
        _element(block["element"], f"{path}.element", out, INPUT_ELEMENTS)


def _image(block: dict[str, Any], path: str, out: Problems) -> None:
    _image_element(block, path, out)
    _text(block.get("title"), f"{path}.title", out, 2000, plain=True, required=False)


def _markdown(block: dict[str, Any], path: str, out: Problems) -> None:
    _len(block.get("text"), f"{path}.text", out, MAX_MARKDOWN_TOTAL, required=True)


def _passthrough(block: dict[str, Any], path: str, out: Problems) -> None:
    """rich_text is accepted as-is (its nested element grammar is not checked)."""


BlockCheck = Callable[[dict[str, Any], str, Problems], None]
BLOCKS: dict[str, tuple[BlockCheck, frozenset[str]]] = {
    "section": (_section, frozenset(MAX_BLOCKS)),
    "divider": (_passthrough, frozenset(MAX_BLOCKS)),
    "header": (_header, frozenset(MAX_BLOCKS)),
    "context": (_context, frozenset(MAX_BLOCKS)),
    "actions": (_actions, frozenset(MAX_BLOCKS)),
    "input": (_input, frozenset(MAX_BLOCKS)),
    "image": (_image, frozenset(MAX_BLOCKS)),
    "rich_text": (_passthrough, frozenset(MAX_BLOCKS)),
    "markdown": (_markdown, frozenset({"message"})),
}


def validate_blocks(blocks: Any, surface: str, path: str = "blocks") -> Problems:
    """Return the problems Slack would reject in a ``blocks`` array for this surface.

    ``surface`` is "message", "modal" or "home"; anything else is a programming error.
    """
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface {surface!r}")
    out: Problems = []
    block_ids: set[str] = set()
    markdown_total = 0
    for i, block in enumerate(_list(blocks, path, out, high=MAX_BLOCKS[surface])):
        bpath = f"{path}[{i}]"
        if not isinstance(block, dict):
            out.append(f"{bpath}: must be a block object")
            continue
        kind = block.get("type")
        if not isinstance(kind, str) or kind not in BLOCKS:
            out.append(f"{bpath}.type: unknown block type {kind!r}")
            continue
        check, surfaces = BLOCKS[kind]
        if surface not in surfaces:
            out.append(f"{bpath}: {kind} blocks are not allowed in a {surface}")
        block_id = block.get("block_id")
        _len(block_id, f"{bpath}.block_id", out, 255)
        if isinstance(block_id, str):
            if block_id in block_ids:
                out.append(f"{bpath}.block_id: duplicate {block_id!r}")
            block_ids.add(block_id)
        if kind == "markdown" and isinstance(block.get("text"), str):
            markdown_total += len(block["text"])
        check(block, bpath, out)
    if markdown_total > MAX_MARKDOWN_TOTAL:
        out.append(f"{path}: markdown blocks total {markdown_total} characters, "
                   f"max {MAX_MARKDOWN_TOTAL}")
    return out


def validate_message(text: Any, blocks: Any) -> Problems:
    """Problems with a message payload's top-level ``text`` and ``blocks`` (either may be None)."""
    out: Problems = []
    _len(text, "text", out, MAX_MESSAGE_TEXT)
    if blocks is not None:
        out.extend(validate_blocks(blocks, "message"))
    return out


def validate_view(view: Any) -> Problems:
    """Problems with a modal or home view object as passed to ``views.*``."""
    if not isinstance(view, dict):
        return [f"view: must be an object, got {type(view).__name__}"]
    out: Problems = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"view.type: must be modal or home, got {kind!r}"]
    _len(view.get("private_metadata"), "view.private_metadata", out, 3000)
    _len(view.get("callback_id"), "view.callback_id", out, 255)
    _len(view.get("external_id"), "view.external_id", out, 255)
    if "blocks" not in view:
        out.append("view.blocks: required")
    else:
        out.extend(validate_blocks(view["blocks"], kind, "view.blocks"))
    if kind == "modal":
        _text(view.get("title"), "view.title", out, 24, plain=True)
        for key in ("submit", "close"):
            _text(view.get(key), f"view.{key}", out, 24, plain=True, required=False)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            out.append("view.submit: required when the modal has an input block")
    return out


# -- reading blocks back (tests, benchmarks, the sandbox) ------------------------------------
def blocks_text(blocks: list[dict] | str | None) -> str:
    """Every piece of text in some blocks (or a view, or their JSON), joined."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks or [])
    return "\n".join(found)


def button_values(blocks: Any) -> dict[str, str]:
    """action_id -> value of every button in some blocks (or a view)."""
    values: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "button" and "action_id" in node:
                values[node["action_id"]] = node.get("value", "")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return values
