"""Socket Mode, the usual choice for an internal bot: `switchboard run` with SLACK_APP_TOKEN opens
the connection Slack hands out, acknowledges envelopes and answers through the Web API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack
from sandbox.slack_api.socket_mode import FakeSocketMode
from tests.bot.test_run import FIXTURE, ROOT, env_for, switchboard

# apps.connections.open is missing from the OpenAPI spec we derive methods.json from; its
# documented shape (https://docs.slack.dev/reference/methods/apps.connections.open): POST, an
# app-level token, no arguments.
CONNECTIONS_OPEN = {"args": [], "http": ["POST"], "required": [], "scopes": "connections:write",
                    "token": True}


def test_socket_mode_end_to_end(tmp_path: Path, model_cache: Path) -> None:
    socket_mode = FakeSocketMode()
    with FakeSlack(extra_methods={"apps.connections.open": CONNECTIONS_OPEN}) as fake:
        fake.socket_url = socket_mode.url
        env = env_for(tmp_path, model_cache, SLACK_BOT_TOKEN="xoxb-test",
                      SLACK_APP_TOKEN="xapp-1-test", SLACK_API_BASE_URL=fake.base_url)
        assert switchboard("import", str(FIXTURE), env=env).returncode == 0
        process = subprocess.Popen([sys.executable, "app.py"], env=env, cwd=ROOT,
                                   stderr=subprocess.PIPE, text=True)
        try:
            socket_mode.wait_connected()
            [opened] = fake.calls_to("apps.connections.open")
            assert opened.token == "xapp-1-test"  # the app-level token, not the bot token
            payload = signing.app_mention("strikethrough text in github markdown").data
            envelope = socket_mode.send_envelope("events_api", payload)
            assert socket_mode.wait_ack(envelope) == {"envelope_id": envelope}
            [answer] = fake.wait_for("chat.postMessage", timeout=30)
            assert answer.args["thread_ts"] == payload["event"]["ts"]
            assert "Strikethrough" in json.dumps(answer.args["blocks"])
            command = signing.slash_command("/ask", "").data
            empty = socket_mode.send_envelope("slash_commands", command)
            ack = socket_mode.wait_ack(empty)
            assert "Type your question" in ack["payload"]["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
            socket_mode.close()
        assert process.returncode == 0, stderr
        assert fake.take_violations() == []
    messages = [json.loads(line)["message"] for line in stderr.splitlines()
                if line.startswith("{")]
    assert "ready" in messages and messages[-1] == "stopped"
