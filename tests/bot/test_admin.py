"""Admin curation through signed Slack requests, each also tried by a non-admin (refused,
nothing changed); experts' own settings on the App Home."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from index.entry_index import EntryIndex
from index.search import HybridSearch
from knowledge.expert_profiles import ExpertBook
from knowledge.models import EntryDraft, EntryStatus
from knowledge.questions import AskInput, QuestionBook, QuestionSource
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values
from tests.conftest import CountingEmbedder

ADMIN, EXPERT, OUTSIDER = "UADMIN", "UEXP", "U456"


@pytest.fixture
def bot(make_bot) -> Bot:
    bot = make_bot(admins=frozenset({ADMIN}))
    bot.fake.add_user(ADMIN, "alex", "Alex Admin")
    bot.fake.add_user(EXPERT, "erin", "Erin Expert")
    return bot


def pending_entry(bot: Bot, question: str = "How do I refund a duplicate charge?") -> int:
    return bot.search.store.add_entry(EntryDraft(
        question=question, answer="Refund it from the Payments tab.", answered_by=EXPERT,
        status=EntryStatus.PENDING_REVIEW), actor="capture").id


def home_of(bot: Bot, user: str) -> dict:
    bot.send(signing.app_home_opened(user))
    bot.settle()
    return bot.fake.home_views[user]


def click(bot: Bot, user: str, action_id: str, value: str, *, view: dict | None = None,
          hook: str | None = None) -> str:
    trigger = signing.new_trigger_id()
    if view is not None:
        payload = signing.block_actions(action_id, value, user_id=user, view=view,
                                        trigger_id=trigger)
    else:
        payload = signing.block_actions(action_id, value, user_id=user, trigger_id=trigger,
                                        response_url=hook or bot.fake.response_url(user))
    assert bot.send(payload)[0] == 200
    bot.settle()
    return trigger


def audit_actions(bot: Bot, entry_id: int) -> list[str]:
    return [r.action for r in reversed(bot.search.store.audit_log(entry_id))]


def refused(bot: Bot) -> bool:
    replies = bot.fake.calls_to("response_url")
    return bool(replies) and "only Switchboard admins" in replies[-1].args["text"]


def test_admin_home_shows_queue_and_figures_others_do_not_see_it(bot: Bot) -> None:
    entry_id = pending_entry(bot)
    home = home_of(bot, ADMIN)
    text = blocks_text(home["blocks"])
    assert "Review queue" in text and "refund a duplicate charge" in text
    assert "1 waiting for review" in text and "by erin" in text
    assert button_values(home["blocks"])["admin_approve"] == str(entry_id)
    other = blocks_text(home_of(bot, OUTSIDER)["blocks"])
    assert "Review queue" not in other and "Admin" not in other


def test_approve_publishes_audits_and_thanks_the_author(bot: Bot) -> None:
    entry_id = pending_entry(bot)
    click(bot, OUTSIDER, "admin_approve", str(entry_id))
    assert refused(bot)
    assert bot.search.store.get_entry(entry_id).status is EntryStatus.PENDING_REVIEW
    click(bot, ADMIN, "admin_approve", str(entry_id))
    assert bot.search.store.get_entry(entry_id).status is EntryStatus.PUBLISHED
    assert bot.search.store.audit_log(entry_id)[0].actor == ADMIN
    assert audit_actions(bot, entry_id) == ["create", "approve"]
    assert "was approved" in bot.fake.history[f"D{EXPERT}"][-1]["text"]
    # published at once: the bot now answers with it
    bot.send(signing.app_mention("how do I refund a duplicate charge?"))
    bot.settle()
    assert "Payments tab" in blocks_text(bot.posted("C123")[-1].args["blocks"])


def test_edit_then_approve_in_a_modal(bot: Bot) -> None:
    entry_id = pending_entry(bot)
    trigger = click(bot, ADMIN, "admin_edit", f"approve:{entry_id}")
    [opened] = [c for c in bot.fake.calls_to("views.open") if c.args["trigger_id"] == trigger]
    view = opened.args["view"]
    assert view["private_metadata"] == f"approve:{entry_id}"
    values = {"entry_question": {"entry_question": "How do I refund a duplicate charge?"},
              "entry_answer": {"entry_answer": "Refund the newer charge from Payments."},
              "entry_tags": {"entry_tags": "Billing, refunds"},
              "entry_visibility": {"entry_visibility": "public"}}
    forged = signing.view_submission("admin_entry_modal", values, user_id=OUTSIDER,
                                     private_metadata=view["private_metadata"],
                                     blocks=view["blocks"])
    status, body = bot.send(forged)
    assert status == 200 and b"only Switchboard admins" in body
    bot.settle()
    assert bot.search.store.get_entry(entry_id).status is EntryStatus.PENDING_REVIEW
    bot.send(signing.view_submission("admin_entry_modal", values, user_id=ADMIN,
                                     private_metadata=view["private_metadata"],
                                     blocks=view["blocks"]))
    bot.settle()
    entry = bot.search.store.get_entry(entry_id)
    assert entry.status is EntryStatus.PUBLISHED and entry.answer.startswith("Refund the newer")
    assert entry.tags == ("billing", "refunds")
    log = bot.search.store.audit_log(entry_id)
    assert [r.action for r in reversed(log)] == ["create", "edit", "approve"]
    assert log[1].before["answer"] == "Refund it from the Payments tab."


def test_reject_with_a_reason_told_to_the_expert(bot: Bot) -> None:
    entry_id = pending_entry(bot)
    trigger = click(bot, ADMIN, "admin_reject", str(entry_id))
    [opened] = [c for c in bot.fake.calls_to("views.open") if c.args["trigger_id"] == trigger]
    values = {"reject_reason": {"reject_reason": "Not our policy for EU customers."}}
    submit = signing.view_submission("admin_reject_modal", values, user_id=OUTSIDER,
                                     private_metadata=str(entry_id),
                                     blocks=opened.args["view"]["blocks"])
    assert b"only Switchboard admins" in bot.send(submit)[1]
    bot.send(signing.view_submission("admin_reject_modal", values, user_id=ADMIN,
                                     private_metadata=str(entry_id),
                                     blocks=opened.args["view"]["blocks"]))
    bot.settle()
    assert bot.search.store.get_entry(entry_id).status is EntryStatus.RETIRED
    assert "Not our policy for EU customers" in bot.fake.history[f"D{EXPERT}"][-1]["text"]
    assert bot.search.store.audit_log(entry_id)[0].note == "Not our policy for EU customers."


def test_find_retire_restore_verify_any_entry(bot: Bot) -> None:
    entry_id = bot.search.store.add_entry(EntryDraft("Office wifi password for guests",
                                                     "Ask reception.")).id
    forged = signing.view_submission("admin_find_modal", {"find_text": {"find_text": "wifi"}},
                                     user_id=OUTSIDER)
    assert b"only Switchboard admins" in bot.send(forged)[1]
    status, body = bot.send(signing.view_submission(
        "admin_find_modal", {"find_text": {"find_text": "wifi guests"}}, user_id=ADMIN))
    assert status == 200 and b'"response_action": "update"' in body.replace(b'":"', b'": "')
    import json

    results = json.loads(body)["view"]
    assert f"#{entry_id}" in blocks_text(results["blocks"])
    results = {**results, "id": "VFOUND"}
    for user, action in ((OUTSIDER, "admin_retire"), (ADMIN, "admin_retire")):
        click(bot, user, action, str(entry_id), view=results)
    assert bot.search.store.get_entry(entry_id).status is EntryStatus.RETIRED
    click(bot, ADMIN, "admin_restore", str(entry_id), view=results)
    click(bot, OUTSIDER, "admin_verify", str(entry_id), view=results)
    assert bot.search.store.get_entry(entry_id).verified_by is None
    click(bot, ADMIN, "admin_verify", str(entry_id), view=results)
    entry = bot.search.store.get_entry(entry_id)
    assert entry.status is EntryStatus.PUBLISHED and entry.verified_by == ADMIN
    assert audit_actions(bot, entry_id) == ["create", "retire", "restore", "verify"]
    # the outsider was refused twice, by DM (clicks inside a modal have no response_url)
    refusals = [m for m in bot.fake.history.get(f"D{OUTSIDER}", [])
                if "only Switchboard admins" in m["text"]]
    assert len(refusals) == 2


def test_merge_near_duplicates(bot: Bot) -> None:
    store = bot.search.store
    keep = store.add_entry(EntryDraft("How can I reset my VPN password?",
                                      "Use the self-service portal.",
                                      source_url="https://wiki.example.com/vpn")).id
    fold = store.add_entry(EntryDraft("How do I reset my VPN password?",
                                      "Use the self-service portal.",
                                      source_url="https://wiki.example.com/vpn-old")).id
    bot.app.home.refresh_insights()  # what the scheduler does in the background
    home = home_of(bot, ADMIN)
    assert "Possible duplicates" in blocks_text(home["blocks"])
    value = button_values(home["blocks"])["admin_merge"]
    assert set(value.split(":")) == {str(keep), str(fold)}
    click(bot, OUTSIDER, "admin_merge", value)
    assert store.get_entry(fold).merged_into is None and store.get_entry(keep).merged_into is None
    click(bot, ADMIN, "admin_merge", value)
    kept_id, folded_id = (int(v) for v in value.split(":"))
    assert store.get_entry(folded_id).merged_into == kept_id
    assert store.get_entry(folded_id).status is EntryStatus.RETIRED
    assert store.get_entry(kept_id).extra_links
    # the Home republished after the merge no longer offers the pair (the cache is older)
    assert "Possible duplicates" not in blocks_text(bot.fake.home_views[ADMIN]["blocks"])


def test_stale_entries_are_listed_and_their_author_nudged(bot: Bot) -> None:
    store = bot.search.store
    old = store.add_entry(EntryDraft("What is the expense limit for client dinners?", "€50.",
                                     answered_by=EXPERT,
                                     created_at=datetime.now(UTC) - timedelta(days=400))).id
    home = home_of(bot, ADMIN)
    assert "Needs a look" in blocks_text(home["blocks"])
    assert "written 400 days ago" in blocks_text(home["blocks"])
    click(bot, ADMIN, "admin_nudge", str(old))
    click(bot, ADMIN, "admin_nudge", str(old))  # not twice in a week
    nudges = [m for m in bot.fake.history[f"D{EXPERT}"] if "still right" in m["text"]]
    assert len(nudges) == 1
    assert button_values(nudges[0]["blocks"]) == {"owner_verify": str(old)}
    click(bot, OUTSIDER, "owner_verify", str(old))
    assert store.get_entry(old).verified_by is None
    click(bot, EXPERT, "owner_verify", str(old))
    assert store.get_entry(old).verified_by == EXPERT
    assert bot.app.nudge_stale() == 0  # verified now: nobody to nudge


def test_admin_group_members_are_admins(make_bot) -> None:
    bot = make_bot(admin_group="SADMINS")
    bot.fake.add_usergroup("SADMINS", "kb-admins", ["UGROUPIE"])
    bot.fake.add_user("UGROUPIE", "gina")
    entry_id = pending_entry(bot)
    click(bot, "UGROUPIE", "admin_approve", str(entry_id))
    assert bot.search.store.get_entry(entry_id).status is EntryStatus.PUBLISHED
    click(bot, OUTSIDER, "admin_verify", str(entry_id))
    assert bot.search.store.get_entry(entry_id).verified_by is None


def test_expert_home_topics_and_away(bot: Bot) -> None:
    bot.search.store.add_entry(EntryDraft("q", "a", answered_by=EXPERT))
    home = home_of(bot, EXPERT)
    text = blocks_text(home["blocks"])
    assert "Questions for you" in text and "Nobody is waiting on you" in text
    trigger = click(bot, EXPERT, "expert_topics", "", view=home)
    [opened] = [c for c in bot.fake.calls_to("views.open") if c.args["trigger_id"] == trigger]
    bot.send(signing.view_submission(
        "expert_topics_modal", {"expert_topics_input": {"expert_topics_input": "Billing, VPN"}},
        user_id=EXPERT, blocks=opened.args["view"]["blocks"]))
    bot.settle()
    assert "billing, vpn" in blocks_text(bot.fake.home_views[EXPERT]["blocks"])
    past = signing.view_submission("expert_away_modal", {"expert_away_date": {
        "expert_away_date": {"type": "datepicker", "selected_date": "2001-01-01"}}},
        user_id=EXPERT)
    assert b"Pick today or a later day" in bot.send(past)[1]
    bot.settle()
    assert "Available" in blocks_text(bot.fake.home_views[EXPERT]["blocks"])  # nothing saved
    assert ExpertBook(bot.search.store).prefs(EXPERT).away_until is None
    later = (datetime.now(UTC) + timedelta(days=3)).date()
    bot.send(signing.view_submission("expert_away_modal", {"expert_away_date": {
        "expert_away_date": {"type": "datepicker", "selected_date": later.isoformat()}}},
        user_id=EXPERT))
    bot.settle()
    assert f"until the end of {later:%-d %b %Y}" in blocks_text(
        bot.fake.home_views[EXPERT]["blocks"])
    click(bot, EXPERT, "expert_back", "", view=bot.fake.home_views[EXPERT])
    assert "Available" in blocks_text(bot.fake.home_views[EXPERT]["blocks"])


@pytest.mark.parametrize("action_id", ["admin_approve", "admin_edit", "admin_reject",
                                       "admin_verify", "admin_retire", "admin_restore",
                                       "admin_merge", "admin_nudge", "admin_find"])
def test_every_admin_button_refuses_a_non_admin(bot: Bot, action_id: str) -> None:
    store = bot.search.store
    entry_id = pending_entry(bot)
    other = store.add_entry(EntryDraft("Another question?", "Another answer.",
                                       answered_by=EXPERT)).id
    value = {"admin_edit": f"edit:{entry_id}", "admin_merge": f"{other}:{entry_id}"}.get(
        action_id, str(entry_id))
    before = [(r.action, r.at) for r in store.audit_log()]
    click(bot, OUTSIDER, action_id, value)
    assert refused(bot)
    assert [(r.action, r.at) for r in store.audit_log()] == before
    assert bot.fake.calls_to("views.open") == [] and bot.fake.calls_to("views.push") == []
    assert f"D{EXPERT}" not in bot.fake.history  # nobody was nudged or told anything
    assert store.get_entry(entry_id).status is EntryStatus.PENDING_REVIEW


def test_admin_home_reads_cached_gaps_and_never_calls_the_model(
        make_bot, faq_search: HybridSearch, counting_embedder: CountingEmbedder,
        tmp_path: Path) -> None:
    store = faq_search.store
    index = EntryIndex.open(store, counting_embedder, tmp_path / "counted")
    bot = make_bot(search=HybridSearch(store, index, counting_embedder),
                   admins=frozenset({ADMIN}))
    book = QuestionBook(store)
    themes = ("Where can I park my car at the Lisbon office", "How do I expense a train ticket",
              "Who can unlock my laptop after too many password attempts")
    for i in range(24):  # long unanswered questions, as anyone could ask
        text = f"{themes[i % 3]} (case {i})? " + "Details follow. " * 1_000
        book.receive(AskInput(f"U{i}", text, QuestionSource.DM, channel=f"D{i}",
                              message_ts=f"{i}.0"))
    counting_embedder.texts.clear()
    first = blocks_text(home_of(bot, ADMIN)["blocks"])
    assert "computing" in first and "Knowledge gaps" not in first
    assert bot.app.home.refresh_insights()  # what the scheduler does in the background
    assert len(counting_embedder.texts) == 24  # each question once, each cut to 2,000 chars
    assert max(len(t) for t in counting_embedder.texts) <= 2_000
    cached = bot.app.home.insights.latest
    counting_embedder.texts.clear()
    entry_id = pending_entry(bot)
    for _ in range(5):
        home = home_of(bot, ADMIN)
    click(bot, ADMIN, "admin_approve", str(entry_id))  # republishes the admin's Home
    click(bot, ADMIN, "admin_nudge", str(entry_id))
    assert counting_embedder.texts == []  # no Home and no admin click embedded anything
    assert bot.app.home.insights.latest is cached  # nor worked anything out again
    text = blocks_text(home["blocks"])
    assert "computing" not in text and "Knowledge gaps" in text
    assert "8× Where can I park my car" in text or "8× How do I expense" in text \
        or "8× Who can unlock" in text
