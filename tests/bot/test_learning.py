"""Learning from verdicts, through signed requests against the local fake Slack: any answer on
the card can be marked as the one that solved it, which keeps the asker's words as a phrasing of
that entry (found first by the next search); forged clicks change nothing; admins list and
remove an entry's phrasings, and nobody else can."""

from __future__ import annotations

import json

import pytest

from knowledge.models import EntryDraft
from knowledge.phrasings import PhrasingSource
from knowledge.questions import QuestionStatus
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values

# Ambiguous on the StackFAQ sample: the card shows a YouTube answer first and another after it.
WORDING = "youtube channel video time"
ADMIN, OUTSIDER = "UADMIN", "U456"


def ask(bot: Bot, text: str = WORDING) -> tuple[int, str, list[dict]]:
    """Ask by mention in #support; returns the question id, the card's ts and its blocks."""
    bot.send(signing.app_mention(text))
    bot.settle()
    question = bot.question(channel="C123")
    return question.id, question.reply_ts, bot.posted("C123")[-1].args["blocks"]


def related(blocks: list[dict]) -> list[str]:
    """The values of the related answers' own "This solved it", in card order."""
    return [b["accessory"]["value"] for b in blocks
            if b.get("accessory", {}).get("action_id") == "answer_solved_this"]


def click(bot: Bot, action_id: str, value: str, card_ts: str | None, user: str = "U123",
          channel: str = "C123") -> None:
    payload = signing.block_actions(action_id, value, user_id=user, channel_id=channel,
                                    message_ts=card_ts, response_url=bot.fake.response_url(user))
    assert bot.send(payload)[0] == 200
    bot.settle()


def feedback(bot: Bot) -> list[tuple[int, str, str]]:
    rows = bot.search.store.query("SELECT entry_id, user, verdict FROM feedback ORDER BY id")
    return [(r["entry_id"], r["user"], r["verdict"]) for r in rows]


def phrasing_rows(bot: Bot) -> int:
    return bot.search.store.query("SELECT count(*) AS n FROM phrasings")[0]["n"]


def test_a_related_answer_that_solved_it_learns_the_askers_wording(bot: Bot) -> None:
    question_id, ts, blocks = ask(bot)
    shown = [hit.entry_id for hit in bot.questions.shown_hits(question_id)]
    assert len(shown) >= 2 and related(blocks)[0] == f"{question_id}:{shown[1]}"
    second = shown[1]
    assert bot.search.search(WORDING, k=1)[0].entry.id != second  # not first before

    click(bot, "answer_solved_this", related(blocks)[0], ts)
    assert feedback(bot) == [(second, "U123", "solved")]
    [phrasing] = bot.search.store.phrasings.of_entry(second)
    assert (phrasing.text, phrasing.source, phrasing.votes) == (
        WORDING, PhrasingSource.SOLVED, 1)
    [update] = bot.fake.calls_to("chat.update")
    title = bot.search.store.get_entry(second).question
    assert f"Marked as solved by asker with “{title}”" in blocks_text(update.args["blocks"])
    assert button_values(update.args["blocks"]) == {}  # the asker has chosen
    assert bot.question(channel="C123").status is QuestionStatus.SOLVED
    # the next person who asks it that way gets that entry first
    assert bot.search.search(WORDING, k=1)[0].entry.id == second


def test_after_not_helpful_a_related_answer_can_still_solve_it(bot: Bot) -> None:
    question_id, ts, blocks = ask(bot)
    best, second = (hit.entry_id for hit in bot.questions.shown_hits(question_id)[:2])
    click(bot, "answer_not_helpful", button_values(blocks)["answer_not_helpful"], ts)
    after = bot.fake.calls_to("chat.update")[-1].args["blocks"]
    assert "not helpful" in blocks_text(after)
    assert related(after) == related(blocks)  # still offered, beside "Ask an expert"
    click(bot, "answer_solved_this", related(after)[0], ts)
    assert feedback(bot) == [(best, "U123", "not_helpful"), (second, "U123", "solved")]
    assert "Marked as solved by asker with" in blocks_text(
        bot.fake.calls_to("chat.update")[-1].args["blocks"])
    [pushed_down] = bot.search.store.phrasings.of_entry(best)
    [learned] = bot.search.store.phrasings.of_entry(second)
    assert (pushed_down.polarity, learned.polarity) == (-1, 1)


def test_a_forged_click_naming_an_entry_not_on_the_card_changes_nothing(bot: Bot) -> None:
    question_id, ts, blocks = ask(bot)
    shown = {hit.entry_id for hit in bot.questions.shown_hits(question_id)}
    other = bot.search.store.query(
        f"SELECT id FROM entries WHERE id NOT IN ({','.join(map(str, shown))}) LIMIT 1")[0]["id"]
    for value in (f"{question_id}:{other}", f"{question_id}:0", f"{question_id}"):
        click(bot, "answer_solved_this", value, ts)
    assert feedback(bot) == [] and phrasing_rows(bot) == 0
    assert bot.fake.calls_to("chat.update") == []
    assert bot.search.store.get_entry(other).helpful_count == 0
    click(bot, "answer_solved_this", related(blocks)[0], ts)  # the real one (control)
    assert len(feedback(bot)) == 1 and phrasing_rows(bot) == 1


def test_a_related_solved_from_another_conversation_is_refused(bot: Bot) -> None:
    _, ts, blocks = ask(bot)
    bot.fake.add_channel("COTHER", "random", members=["U123", "U456"])
    click(bot, "answer_solved_this", related(blocks)[0], ts, user="U456", channel="COTHER")
    click(bot, "answer_solved_this", related(blocks)[0], None, user="U123", channel="COTHER")
    assert feedback(bot) == [] and phrasing_rows(bot) == 0
    # a bystander in the card's own channel is counted (a vote), the card left to the asker
    click(bot, "answer_solved_this", related(blocks)[0], ts, user="U456")
    assert [user for _, user, _ in feedback(bot)] == ["U456"]
    assert bot.fake.calls_to("chat.update") == []
    assert "Thanks" in bot.fake.calls_to("response_url")[-1].args["text"]


def test_an_ephemeral_cards_related_answer_only_from_its_asker(bot: Bot) -> None:
    bot.send(signing.slash_command("/ask", WORDING, response_url=bot.fake.response_url("cmd")))
    bot.settle()
    [card] = bot.fake.calls_to("response_url")
    [value, *_] = related(card.args["blocks"])
    ephemeral = {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C123",
                 "is_ephemeral": True}
    for user in ("U456", "U123"):
        bot.send(signing.block_actions("answer_solved_this", value, user_id=user,
                                       container=ephemeral,
                                       response_url=bot.fake.response_url(user)))
        bot.settle()
    assert [user for _, user, _ in feedback(bot)] == ["U123"]
    replaced = bot.fake.calls_to("response_url")[-1]
    assert "Marked as solved by asker with" in blocks_text(replaced.args["blocks"])


# -- admins: an entry's phrasings ------------------------------------------------------------
@pytest.fixture
def admin_bot(make_bot) -> Bot:
    bot = make_bot(admins=frozenset({ADMIN}))
    bot.fake.add_user(ADMIN, "alex", "Alex Admin")
    return bot


def find_view(bot: Bot, query: str) -> dict:
    status, body = bot.send(signing.view_submission(
        "admin_find_modal", {"find_text": {"find_text": query}}, user_id=ADMIN))
    assert status == 200
    return {**json.loads(body)["view"], "id": "VFOUND"}


def press_in(bot: Bot, user: str, action_id: str, value: str, view: dict) -> str:
    trigger = signing.new_trigger_id()
    assert bot.send(signing.block_actions(action_id, value, user_id=user, view=view,
                                          trigger_id=trigger))[0] == 200
    bot.settle()
    return trigger


def test_admins_list_and_remove_an_entrys_phrasings(admin_bot: Bot) -> None:
    bot, store = admin_bot, admin_bot.search.store
    entry_id = store.add_entry(EntryDraft("Office wifi password for guests",
                                          "Ask reception.")).id
    wrong = store.phrasings.learn(entry_id, "parking permit for visitors", "U1",
                                  PhrasingSource.SOLVED)
    for user in ("U1", "U2"):
        store.phrasings.learn(entry_id, "guest network login details", user,
                              PhrasingSource.SOLVED)
    results = find_view(bot, "wifi guests")
    assert button_values(results["blocks"])["admin_phrasings"] == str(entry_id)
    assert "Phrasings (2)" in json.dumps(results["blocks"])

    press_in(bot, OUTSIDER, "admin_phrasings", str(entry_id), results)  # refused
    assert bot.fake.calls_to("views.push") == []
    press_in(bot, ADMIN, "admin_phrasings", str(entry_id), results)
    [pushed] = bot.fake.calls_to("views.push")
    listing = blocks_text(pushed.args["view"]["blocks"])
    assert "guest network login details" in listing and "2 people" in listing
    assert "parking permit for visitors" in listing and "1 person" in listing
    assert "said it solved their question" in listing
    modal = {**pushed.args["view"], "id": "VPHRASINGS"}

    before = [(r.action, r.at) for r in store.audit_log(entry_id)]
    press_in(bot, OUTSIDER, "admin_remove_phrasing", str(wrong.id), modal)
    assert store.phrasings.get(wrong.id).is_active
    assert [(r.action, r.at) for r in store.audit_log(entry_id)] == before
    assert bot.fake.calls_to("views.update") == []
    refusals = [m for m in bot.fake.history.get(f"D{OUTSIDER}", [])
                if "only Switchboard admins" in m["text"]]
    assert len(refusals) == 2  # opening the list and removing

    press_in(bot, ADMIN, "admin_remove_phrasing", str(wrong.id), modal)
    removed = store.phrasings.get(wrong.id)
    assert not removed.is_active and removed.removed_by == ADMIN
    [audit] = [r for r in store.audit_log(entry_id) if r.action == "phrasing_removed"]
    assert audit.actor == ADMIN and "parking permit" in audit.note
    [update] = bot.fake.calls_to("views.update")
    assert update.args["view_id"] == "VPHRASINGS"
    left = blocks_text(update.args["view"]["blocks"])
    assert "parking permit" not in left and "guest network login details" in left


def test_the_edit_modal_offers_the_entrys_phrasings(admin_bot: Bot) -> None:
    bot, store = admin_bot, admin_bot.search.store
    entry_id = store.add_entry(EntryDraft("Office wifi password for guests",
                                          "Ask reception.")).id
    store.phrasings.learn(entry_id, "guest network login details", "U1", PhrasingSource.SOLVED)
    trigger = signing.new_trigger_id()
    bot.send(signing.block_actions("admin_edit", f"edit:{entry_id}", user_id=ADMIN,
                                   trigger_id=trigger, response_url=bot.fake.response_url("a")))
    bot.settle()
    [opened] = bot.fake.calls_to("views.open")
    assert button_values(opened.args["view"]["blocks"]) == {"admin_phrasings": str(entry_id)}
    press_in(bot, ADMIN, "admin_phrasings", str(entry_id), {**opened.args["view"], "id": "VE"})
    [pushed] = bot.fake.calls_to("views.push")
    assert "guest network login details" in blocks_text(pushed.args["view"]["blocks"])
