"""`switchboard run` as a real process: clear start-up errors, HTTP mode end to end, health,
graceful shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.slack_api import signing
from sandbox.slack_api.server import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "stackfaq_sample.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(tmp_path: Path, model_cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHBOARD_"))}
    env.update(SWITCHBOARD_HOME=str(tmp_path / "home"), SWITCHBOARD_MODEL_CACHE=str(model_cache),
               HF_HUB_OFFLINE="1", **extra)
    return env


def switchboard(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "switchboard.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.parametrize(("settings", "says"), [
    ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not set"),  # none at all: the sandbox
    ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "must start with xoxb-"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "must start with xapp-"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "http"},
     "PORT='http' is not a TCP port"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_BASE_URL": "slack"},
     "SLACK_API_BASE_URL='slack' must be an http(s) URL"),
])
def test_bad_settings_stop_start_up_with_one_clear_line(tmp_path: Path, model_cache: Path,
                                                        settings: dict, says: str) -> None:
    done = switchboard("run", env=env_for(tmp_path, model_cache, **settings))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], done.stderr


def test_a_token_slack_rejects_is_one_clear_line(tmp_path: Path, model_cache: Path) -> None:
    with FakeSlack(accepted_tokens={"xoxb-good"}) as fake:
        env = env_for(tmp_path, model_cache, SLACK_BOT_TOKEN="xoxb-bad",
                      SLACK_SIGNING_SECRET="s", SLACK_API_BASE_URL=fake.base_url,
                      PORT=str(free_port()))
        done = switchboard("run", env=env)
        fake.take_violations()
    assert done.returncode == 1
    assert "Slack did not accept SLACK_BOT_TOKEN (invalid_auth)" in done.stderr.splitlines()[-1]


def test_http_mode_end_to_end_with_graceful_shutdown(tmp_path: Path, model_cache: Path) -> None:
    port = free_port()
    with FakeSlack() as fake:
        env = env_for(tmp_path, model_cache, SLACK_BOT_TOKEN="xoxb-test",
                      SLACK_SIGNING_SECRET="secret", SLACK_API_BASE_URL=fake.base_url,
                      PORT=str(port))
        assert switchboard("import", str(FIXTURE), env=env).returncode == 0
        process = subprocess.Popen([sys.executable, "app.py"], env=env, cwd=ROOT,
                                   stderr=subprocess.PIPE, text=True)
        try:
            health = wait_for_health(port, process)
            assert health["status"] == "ok" and health["indexed"] == 24
            assert health["mode"] == "http"
            payload = signing.app_mention("strikethrough text in github markdown")
            status, _ = payload.post(f"http://127.0.0.1:{port}/slack/events", "secret")
            assert status == 200
            [call] = fake.wait_for("chat.postMessage", timeout=30)
            assert call.args["thread_ts"] == payload.data["event"]["ts"]
            assert call.token == "xoxb-test"  # every call went to SLACK_API_BASE_URL
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert fake.take_violations() == []
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in logs]
    assert "ready" in messages and messages[-1] == "stopped"
    answered = next(entry for entry in logs if entry["message"] == "answered")
    assert answered["question_id"] == 1 and answered["tier"] == "answer"
    # the index was saved on the way out: the next start needs no re-embedding
    assert (tmp_path / "home" / "index").is_dir()


def wait_for_health(port: int, process: subprocess.Popen, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stderr.read() if process.stderr else "(its stderr went to a file)"
            raise AssertionError(f"the bot exited: {said}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the bot never became healthy")
