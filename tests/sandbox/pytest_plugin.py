"""pytest fixtures for the fake Slack; register with
``pytest_plugins = ["tests.sandbox.pytest_plugin"]`` in the top-level tests/conftest.py.

* ``fake_slack``: a running ``FakeSlack`` per test; the test fails at teardown if the bot made
  any call the fake counts as a violation (tests provoking them use ``take_violations()``).
* ``fake_slack_client``: a ``slack_sdk.WebClient`` (token "xoxb-test") pointed at it.
* ``slack_signing_secret``: the signing secret to configure the app under test with.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from sandbox.slack_api.server import FakeSlack

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started FakeSlack; fails the test at teardown if ``fake.violations`` is non-empty."""
    with FakeSlack() as fake:
        yield fake
        violations = fake.take_violations()
    if violations:
        listing = "\n".join(f"  - {v}" for v in violations)
        pytest.fail(f"the bot made {len(violations)} bad Slack API call(s):\n{listing}",
                    pytrace=False)


@pytest.fixture
def fake_slack_client(fake_slack: FakeSlack) -> WebClient:
    """A real slack_sdk WebClient talking to ``fake_slack``."""
    return WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)


@pytest.fixture
def slack_signing_secret() -> str:
    """Signing secret shared by the app under test and the signed payload helpers."""
    return SIGNING_SECRET
