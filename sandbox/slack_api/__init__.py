"""A strict local Slack Web API on 127.0.0.1, and requests signed exactly as Slack signs them.

One implementation serves the sandbox (`switchboard sandbox`, where it keeps the workspace's
state and shows every call real Slack would reject as an error banner) and the tests (the
`fake_slack` fixture in tests/sandbox/pytest_plugin.py fails a test that made such a call).

Main entry points: ``FakeSlack`` (server), ``validate_blocks``/``validate_view`` (Block Kit
limits), the payload builders and ``signed_post``/``signed_headers`` (signing).
"""

from .blockkit import validate_blocks, validate_message, validate_view
from .rules import load_methods
from .server import Call, FakeSlack
from .signing import (
    Payload,
    app_home_opened,
    app_mention,
    block_actions,
    event_callback,
    message_im,
    message_shortcut,
    sign,
    signed_headers,
    signed_post,
    slash_command,
    user_change,
    view_submission,
)

__all__ = [
    "Call",
    "FakeSlack",
    "Payload",
    "app_home_opened",
    "app_mention",
    "block_actions",
    "event_callback",
    "load_methods",
    "message_im",
    "message_shortcut",
    "sign",
    "signed_headers",
    "signed_post",
    "slash_command",
    "user_change",
    "validate_blocks",
    "validate_message",
    "validate_view",
    "view_submission",
]
