"""`switchboard import-slack`: answered threads become entries waiting for review; resumable."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from knowledge.models import EntryKind, EntryStatus, Visibility
from knowledge.store import Store
from sandbox.slack_api.server import FakeSlack
from switchboard.cli import main
from tests.sandbox.pytest_plugin import BOT_TOKEN


def thread(fake: FakeSlack, channel: str, asker: str, question: str,
           replies: list[tuple[str, str]], bot: bool = False) -> str:
    root = fake.add_message(channel, {"user": asker, "text": question, "reply_count":
                                      len(replies), **({"bot_id": "B9"} if bot else {})})
    root["thread_ts"] = root["ts"]
    for who, text in replies:
        fake.add_message(channel, {"user": who, "text": text, "thread_ts": root["ts"]})
    return root["ts"]


@pytest.fixture
def channel(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.add_channel("CHELP", "help-desk")
    thread(fake_slack, "CHELP", "UASK", "How do I refund a duplicate charge?",
           [("UERIN", "Refund it from the Payments tab."), ("UERIN", "Then email <mailto:"
            "jane@example.com|jane@example.com> the receipt."), ("UASK", "thanks!")])
    thread(fake_slack, "CHELP", "UASK", "Anyone around?", [])  # no replies
    thread(fake_slack, "CHELP", "UASK", "Where is the VPN guide?",
           [("UASK", "found it, never mind")])  # only the asker replied
    thread(fake_slack, "CHELP", "UBOB", "Which port does the VPN use?",
           [("ULEE", "UDP 1194."), ("UBOB", "great")])
    fake_slack.add_message("CHELP", {"user": "UBOB", "text": "lunch?"})  # not a thread
    thread(fake_slack, "CHELP", "UASK", "Status update", [("UERIN", "ok")], bot=True)
    return fake_slack


def run(fake: FakeSlack, home: Path, *args: str):
    env = {"SWITCHBOARD_HOME": str(home), "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_API_BASE_URL": fake.base_url}
    return CliRunner().invoke(main, ["import-slack", *args], env=env)


def test_answered_threads_become_candidates(channel: FakeSlack, tmp_path: Path) -> None:
    done = run(channel, tmp_path, "CHELP")
    assert done.exit_code == 0, done.output
    assert "2 candidate entries waiting for review" in done.output
    store = Store.open(tmp_path / "switchboard.db")
    entries = {e.question: e for e in store.iter_entries()}
    assert set(entries) == {"How do I refund a duplicate charge?", "Which port does the VPN use?"}
    refund = entries["How do I refund a duplicate charge?"]
    assert refund.answered_by == "UERIN" and refund.status is EntryStatus.PENDING_REVIEW
    assert refund.kind is EntryKind.CASE
    assert refund.answer == "Refund it from the Payments tab.\nThen email [email] the receipt."
    assert refund.source_url.startswith("https://example.slack.com/archives/CHELP/p")
    assert entries["Which port does the VPN use?"].answered_by == "ULEE"
    assert store.audit_log()[0].actor == "import-slack"
    # running it again finds nothing new and duplicates nothing
    again = run(channel, tmp_path, "CHELP")
    assert again.exit_code == 0 and "0 candidate entries" in again.output
    assert len(list(store.iter_entries())) == 2
    store.close()


def test_an_interrupted_import_resumes(channel: FakeSlack, tmp_path: Path) -> None:
    # pages of 2 of the 6 top-level messages (newest first); Slack fails on the third
    channel.error_next("conversations.history", "fatal_error", after=2)
    first = run(channel, tmp_path, "CHELP", "--page-size", "2")
    assert first.exit_code == 1 and "run the command again to resume" in first.output
    store = Store.open(tmp_path / "switchboard.db")
    saved = [e.question for e in store.iter_entries()]
    assert saved == ["Which port does the VPN use?"]  # the newest page was kept
    second = run(channel, tmp_path, "CHELP", "--page-size", "2")
    assert second.exit_code == 0 and "(resumed)" in second.output, second.output
    assert "2 candidate entries" in second.output  # counted over both runs
    cursors = [c.args.get("cursor") for c in channel.calls_to("conversations.history")]
    assert cursors[2] == cursors[3] and cursors[2]  # the failed page was asked for again
    assert sorted(e.question for e in store.iter_entries()) == [
        "How do I refund a duplicate charge?", "Which port does the VPN use?"]
    store.close()


def test_private_channels_keep_their_visibility(fake_slack: FakeSlack, tmp_path: Path) -> None:
    fake_slack.add_channel("GSEC", "security", is_private=True)
    thread(fake_slack, "GSEC", "UASK", "Who rotates the root keys?", [("UKIM", "Kim, monthly.")])
    assert run(fake_slack, tmp_path, "GSEC").exit_code == 0
    store = Store.open(tmp_path / "switchboard.db")
    [entry] = store.iter_entries()
    assert entry.visibility == Visibility("channel", ("GSEC",))
    store.close()


def test_a_channel_the_bot_cannot_read_is_one_clear_line(fake_slack: FakeSlack,
                                                         tmp_path: Path) -> None:
    fake_slack.error_next("conversations.info", "channel_not_found")
    done = run(fake_slack, tmp_path, "CNOPE")
    assert done.exit_code == 1
    assert "channel_not_found" in done.output and "use the channel's id" in done.output
