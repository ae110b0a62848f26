"""Test infrastructure: a strict local fake of the Slack Web API plus signed-request helpers.

Main entry points: ``FakeSlack`` (server), ``validate_blocks``/``validate_view`` (Block Kit
limits), the payload builders and ``signed_post``/``signed_headers`` (signing), and the
``fake_slack`` pytest fixture in ``tests.slackfake.pytest_plugin``.
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
    "validate_blocks",
    "validate_message",
    "validate_view",
    "view_submission",
]
