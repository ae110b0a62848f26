"""Expert routing end to end against the fake Slack: ask, nothing found, DM to the right expert,
answer modal, answer in the thread, capture, the same question answered by the bot; escalation
with a controlled clock, a restart in the middle of the ladder, double submissions, passing, a
deactivated expert, "Save as answer" and redaction of customer details."""

from __future__ import annotations

import json

from knowledge.analytics import Analytics
from knowledge.escalation import LadderState, Routes, RouteStatus
from knowledge.models import EntryKind, EntryStatus
from knowledge.questions import AskInput, QuestionSource, QuestionStatus, Verdict
from sandbox.slack_api import signing
from tests.bot.conftest import Bot, blocks_text, button_values
from tests.bot.routing_world import (
    BILLING,
    HISTORY,
    PARKING,
    World,
    answer_via_modal,
    ask_and_request_expert,
    dm_card,
    mention,
    open_modal,
    press,
    thread_texts,
)


def test_the_whole_loop(world: World) -> None:
    bot = world.bot
    event, question_id = ask_and_request_expert(world)
    # the two people who answered the most similar questions are asked, with reasons
    routes = Routes(world.store).for_question(question_id)
    assert [r.expert for r in routes] == ["UERIN", "UOMAR"]
    card = dm_card(bot, "UERIN")
    text = blocks_text(card["blocks"])
    assert "charged twice" in text and "*asker* asked in <#C123>" in text
    assert "similar question" in text
    assert set(button_values(card["blocks"])) == {"expert_answer", "expert_pass",
                                                  "expert_snooze"}
    assert any("I've asked erin and omar" in t for t in thread_texts(bot, event["ts"]))

    answer_via_modal(bot, "UERIN", "Refund the second charge from the invoice's Payments tab.")
    posted = thread_texts(bot, event["ts"])
    assert "<@U123> *erin* answered your question" in posted[-1]
    assert "Payments tab" in posted[-1]
    omar = bot.fake.find_message("DUOMAR", dm_card(bot, "UOMAR")["ts"])
    assert "Answered by erin" in blocks_text(omar["blocks"])
    question = bot.questions.get(question_id)
    assert question.status is QuestionStatus.EXPERT_ANSWERED
    ladder = Routes(world.store).ladder(question_id)
    assert ladder.state is LadderState.ANSWERED

    # captured: an expert answer by Erin, linked to the thread, published (policy), indexed
    [entry] = [e for e in world.store.iter_entries() if e.kind is EntryKind.EXPERT_ANSWER]
    assert entry.answered_by == "UERIN" and entry.status is EntryStatus.PUBLISHED
    assert entry.source_url and "C123" in entry.source_url
    # the same question again: the bot answers it itself
    again = signing.app_mention(BILLING)
    bot.send(again)
    bot.settle()
    reply = bot.posted("C123")[-1]
    assert reply.args["thread_ts"] == again.data["event"]["ts"]
    assert "Payments tab" in blocks_text(reply.args["blocks"])
    assert bot.question(message_ts=again.data["event"]["ts"]).tier == "answer"


def test_nothing_found_routes_at_once(world: World) -> None:
    bot = world.bot
    asked = signing.app_mention(PARKING)
    bot.send(asked)
    bot.settle()
    first = bot.posted("C123")[0]
    assert "asking the people most likely to know" in blocks_text(first.args["blocks"])
    assert "answer_ask_expert" not in button_values(first.args["blocks"])
    question = bot.question(message_ts=asked.data["event"]["ts"])
    assert len(Routes(world.store).for_question(question.id)) == 2


def test_asking_again_routes_a_request_whose_process_died_before_routing_it(
        world: World) -> None:
    bot = world.bot
    _, question = mention(world)
    ask = button_values(bot.posted("C123")[-1].args["blocks"])["answer_ask_expert"]
    # the asker's press was recorded by a process that died before it routed the question
    assert bot.questions.record_feedback(question.id, "U123", Verdict.ASK_EXPERT, None)
    routes = Routes(world.store)
    assert routes.ladder(question.id) is None
    press(bot, "U123", "answer_ask_expert", ask, "C123", question.reply_ts)  # nothing happened
    assert [r.expert for r in routes.for_question(question.id)] == ["UERIN", "UOMAR"]
    press(bot, "U123", "answer_ask_expert", ask, "C123", question.reply_ts)
    assert len(routes.for_question(question.id)) == 2
    assert len(bot.fake.history["DUERIN"]) == 1


def test_recovery_routes_a_request_whose_process_died_before_routing_it(world: World) -> None:
    bot = world.bot
    event, question = mention(world)
    # the asker's press was recorded by a process that died before it routed the question
    assert bot.questions.record_feedback(question.id, "U123", Verdict.ASK_EXPERT, None)
    routes = Routes(world.store)
    assert bot.app.recover().routed == 0  # within the lease: the process may still be at it
    assert routes.ladder(question.id) is None
    world.clock.advance(seconds=121)  # the lease is over: nobody is routing it
    assert bot.app.recover().routed == 1
    assert [r.expert for r in routes.for_question(question.id)] == ["UERIN", "UOMAR"]
    assert bot.app.recover().routed == 0  # routed once, however many ticks look
    assert len(bot.fake.history["DUERIN"]) == 1
    assert sum("I've asked" in t for t in thread_texts(bot, event["ts"])) == 1


def test_an_empty_answer_is_refused_and_the_same_modal_then_answers(world: World) -> None:
    bot = world.bot
    event, _ = ask_and_request_expert(world)
    metadata = open_modal(bot, "UERIN", "expert_answer")
    empty = signing.view_submission(
        "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": "   "}},
        user_id="UERIN", private_metadata=metadata)
    assert b"Type your answer" in bot.send(empty)[1]
    bot.settle()
    fixed = signing.view_submission(  # the same view (id), submitted again with an answer
        "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": "Refund it."}},
        user_id="UERIN", private_metadata=metadata, view_id=empty.data["view"]["id"])
    assert bot.send(fixed)[0] == 200
    bot.settle()
    posted = thread_texts(bot, event["ts"])
    assert sum("Refund it." in t for t in posted) == 1, posted


def test_an_edit_that_finds_nothing_routes_at_once_as_a_first_question_would(
        world: World) -> None:
    bot = world.bot
    original, question = mention(world)
    assert question.tier != "none" and Routes(world.store).ladder(question.id) is None
    edited = {**original, "text": "<@UBOT> zzqx vrrt plonk wubba",
              "edited": {"user": "U123", "ts": signing.new_ts()}}
    bot.send(signing.message_changed("C123", edited, original))
    bot.settle()
    assert bot.question(message_ts=original["ts"]).tier == "none"
    assert Routes(world.store).ladder(question.id) is not None  # routed, not left for recovery
    world.clock.advance(seconds=121)
    assert bot.app.recover().routed == 0


def test_escalation_ladder_with_a_controlled_clock(world: World) -> None:
    bot = world.bot
    event, question_id = ask_and_request_expert(world)
    routes = Routes(world.store)
    assert world.router.tick() == 0  # not due yet
    world.clock.advance(16)
    assert world.router.tick() == 1
    asked = [(r.expert, r.round) for r in routes.for_question(question_id)]
    assert asked[:2] == [("UERIN", 1), ("UOMAR", 1)]
    assert sorted(asked[2:]) == [("UKIM", 2), ("ULEE", 2)]
    assert any("No answer yet from erin and omar, so I've also asked" in t
               for t in thread_texts(bot, event["ts"]))
    world.clock.advance(16)
    assert world.router.tick() == 1  # nobody left to ask: the fallback channel
    [fallback] = bot.posted("CFALL")
    assert "Can anyone help" in blocks_text(fallback.args["blocks"])
    assert any("<#CFALL>" in t for t in thread_texts(bot, event["ts"]))
    world.clock.advance(16)
    assert world.router.tick() == 1
    assert routes.ladder(question_id).state is LadderState.EXHAUSTED
    assert any("nobody has answered yet" in t for t in thread_texts(bot, event["ts"]))
    assert world.router.tick() == 0

    # someone in the fallback channel answers after all
    hook = bot.fake.response_url("fallback")
    trigger = press(bot, "U456", "fallback_answer", str(question_id), "CFALL",
                    bot.fake.history["CFALL"][-1]["ts"], hook)
    opened = next(c for c in bot.fake.calls_to("views.open") if c.args["trigger_id"] == trigger)
    bot.send(signing.view_submission(
        "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": "Refund it."}},
        user_id="U456", private_metadata=opened.args["view"]["private_metadata"]))
    bot.settle()
    assert "*bystander* answered" in thread_texts(bot, event["ts"])[-1]
    updated = bot.fake.find_message("CFALL", bot.fake.history["CFALL"][-1]["ts"])
    assert "Answered by bystander" in blocks_text(updated["blocks"])
    # nobody the ladder asked answered: the report counts someone never asked
    practice = Analytics(world.store).routing(days=7)
    assert practice.answered_by["not_asked"] == practice.answered == 1


def test_a_restart_in_the_middle_of_the_ladder_resumes_once(world: World) -> None:
    _event, question_id = ask_and_request_expert(world)
    world.clock.advance(16)
    bot = world.restart()
    assert bot.app.router.tick() == 1
    assert bot.app.router.tick() == 0  # the same deadline never escalates twice
    asked = [r.expert for r in Routes(bot.search.store).for_question(question_id)]
    assert len(asked) == len(set(asked)) == 4


def submit_answer(bot: Bot, user: str, metadata: str, text: str) -> signing.Payload:
    payload = signing.view_submission(
        "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": text}},
        user_id=user, private_metadata=metadata)
    assert bot.send(payload)[0] == 200
    return payload


def test_double_submissions_post_one_answer(world: World) -> None:
    bot = world.bot
    event, question_id = ask_and_request_expert(world)
    erin = open_modal(bot, "UERIN", "expert_answer")
    omar = open_modal(bot, "UOMAR", "expert_answer")
    first = submit_answer(bot, "UERIN", erin, "First answer.")
    bot.send(first)  # the same submission, replayed
    bot.settle()
    submit_answer(bot, "UOMAR", omar, "A later answer.")  # both had the modal open
    bot.settle()
    posted = [t for t in thread_texts(bot, event["ts"]) if "answered your question" in t]
    assert len(posted) == 1 and "First answer." in posted[0]
    assert "Someone else answered this question just before you" in \
        bot.fake.history["DUOMAR"][-1]["text"]
    assert Routes(world.store).find(question_id, "UOMAR").status is RouteStatus.CLOSED
    # a click on Omar's now-settled request says so
    card = bot.fake.history["DUOMAR"][0]
    hook = bot.fake.response_url("late")
    press(bot, "UOMAR", "expert_answer", button_values(card["blocks"]).get(
        "expert_answer", str(Routes(world.store).find(question_id, "UOMAR").id)),
        "DUOMAR", card["ts"], hook)
    assert "already settled" in bot.fake.calls_to("response_url")[-1].args["text"]
    assert len([e for e in world.store.iter_entries() if e.kind is EntryKind.EXPERT_ANSWER]) == 1


def test_pass_with_a_suggestion_asks_that_colleague(world: World) -> None:
    bot = world.bot
    _event, question_id = ask_and_request_expert(world)
    bot.send(signing.view_submission(
        "expert_pass_modal",
        {"expert_pass_colleague": {"expert_pass_user": {"type": "users_select",
                                                        "selected_user": "U456"}}},
        user_id="UERIN", private_metadata=open_modal(bot, "UERIN", "expert_pass")))
    bot.settle()
    routes = {r.expert: r for r in Routes(world.store).for_question(question_id)}
    assert routes["UERIN"].status is RouteStatus.PASSED
    assert routes["U456"].suggested_by == "UERIN"
    assert "*erin* thought you could help" in blocks_text(dm_card(bot, "U456")["blocks"])
    # the colleague answers: the report counts the question as answered on a suggestion
    submit_answer(bot, "U456", open_modal(bot, "U456", "expert_answer"), "Refund it.")
    bot.settle()
    assert world.store.query("SELECT expert_answered_by FROM questions WHERE id = ?",
                             [question_id])[0]["expert_answered_by"] == "U456"
    practice = Analytics(world.store).routing(days=7)
    assert (practice.routed, practice.answered) == (1, 1)
    assert practice.answered_by["suggested"] == 1


def test_a_deactivated_expert_is_skipped_and_replaced(world: World) -> None:
    bot = world.bot
    _event, question_id = ask_and_request_expert(world)
    bot.fake.users["UERIN"]["deleted"] = True
    bot.app.deps.people.forget("UERIN")
    # Omar passes: nobody is waiting any more, so the next round starts at once
    bot.send(signing.view_submission("expert_pass_modal", {}, user_id="UOMAR",
                                     private_metadata=open_modal(bot, "UOMAR", "expert_pass")))
    bot.settle()
    routes = Routes(world.store).for_question(question_id)
    assert [r.expert for r in routes][:2] == ["UERIN", "UOMAR"] and len(routes) == 4
    assert routes[0].status is RouteStatus.FAILED  # she left: not waited for any more
    # a new question never goes to Erin now
    bot.send(signing.app_mention(PARKING))
    bot.settle()
    latest = max(r["id"] for r in world.store.query("SELECT id FROM questions"))
    assert "UERIN" not in [r.expert for r in Routes(world.store).for_question(latest)]


def test_a_dm_that_fails_moves_on_to_the_next_person(world: World) -> None:
    bot = world.bot
    bot.fake.error_next("conversations.open", "account_inactive")  # the first DM fails
    _, question = mention(world, PARKING)
    routes = Routes(world.store).for_question(question.id)
    [failed] = [r for r in routes if r.status is RouteStatus.FAILED]
    asked = [r for r in routes if r.status is RouteStatus.ASKED]
    assert len(asked) == 2 and failed.expert not in {r.expert for r in asked}
    assert world.router.experts.prefs(failed.expert).deactivated


def test_save_as_answer_on_a_human_reply(world: World) -> None:
    bot = world.bot
    event, question_id = ask_and_request_expert(world)
    reply = bot.fake.add_message("C123", {"user": "U456", "thread_ts": event["ts"],
                                          "text": "Refund it from Billing > Payments. "
                                                  "Customer email was jane.doe@example.com"})
    hook = bot.fake.response_url("save")
    bot.send(signing.message_shortcut("save_as_answer", reply, user_id="UKIM",
                                      response_url=hook))
    bot.settle()
    assert "Only the person who asked" in bot.fake.calls_to("response_url")[-1].args["text"]
    bot.send(signing.message_shortcut("save_as_answer", reply, user_id="U123"))
    bot.settle()
    question = bot.questions.get(question_id)
    assert question.status is QuestionStatus.EXPERT_ANSWERED
    [entry] = [e for e in world.store.iter_entries() if e.kind is EntryKind.EXPERT_ANSWER]
    assert entry.answered_by == "U456"
    assert "jane.doe@example.com" not in entry.answer and "[email]" in entry.answer
    assert any("Saved bystander's reply as the answer" in t
               for t in thread_texts(bot, event["ts"]))
    # the experts still waiting are told
    assert "Answered by bystander" in blocks_text(bot.fake.find_message(
        "DUERIN", dm_card(bot, "UERIN")["ts"])["blocks"])


def test_customer_details_are_redacted_before_capture(world: World) -> None:
    bot = world.bot
    text = (BILLING + " Card 4111 1111 1111 1111, customer jane.doe@example.com, "
            "phone +44 20 7946 0958")
    _event, _question_id = ask_and_request_expert(world, text)
    answer_via_modal(bot, "UERIN", "Refund it; I emailed jane.doe@example.com already.")
    [entry] = [e for e in world.store.iter_entries() if e.kind is EntryKind.EXPERT_ANSWER]
    for secret in ("4111", "jane.doe", "7946"):
        assert secret not in entry.question and secret not in entry.answer
    dm = bot.fake.find_message("DUERIN", dm_card(bot, "UERIN")["ts"])
    assert "redacted before saving" in blocks_text(dm["blocks"])


def test_solved_and_ask_for_more_on_the_experts_answer(world: World) -> None:
    bot = world.bot
    event, question_id = ask_and_request_expert(world)
    answer_via_modal(bot, "UERIN", "Refund the second charge.")
    post = [m for m in bot.fake.history["C123"] if "answered your question" in
            blocks_text(m.get("blocks"))][-1]
    buttons = button_values(post["blocks"])
    press(bot, "U123", "expert_answer_more", buttons["expert_answer_more"], "C123", post["ts"])
    assert "asked for more detail" in blocks_text(dm_card(bot, "UERIN")["blocks"])
    answer_via_modal(bot, "UERIN", "Also email the customer the refund receipt.")
    assert "receipt" in thread_texts(bot, event["ts"])[-1]
    press(bot, "U123", "expert_answer_solved", buttons["expert_answer_solved"], "C123",
          post["ts"])
    assert bot.questions.get(question_id).status is QuestionStatus.SOLVED
    [entry] = [e for e in world.store.iter_entries() if e.kind is EntryKind.EXPERT_ANSWER]
    assert entry.helpful_count == 1 and "receipt" in entry.answer


def test_route_cli_json(world: World, model_cache, tmp_path) -> None:
    from click.testing import CliRunner

    from switchboard.cli import main

    export = tmp_path / "kb.jsonl"
    with export.open("w") as handle:
        for who, q, a in HISTORY:
            handle.write(json.dumps({"question": q, "answer": a, "answered_by": who}) + "\n")
    env = {"SWITCHBOARD_HOME": str(tmp_path / "cli"), "SWITCHBOARD_MODEL_CACHE": str(model_cache)}
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(export)], env=env).exit_code == 0
    done = runner.invoke(main, ["route", "--json", "--k", "3"], env=env,
                         input=f"{BILLING}\nthe vpn keeps disconnecting\n")
    assert done.exit_code == 0, done.output
    first, second = (json.loads(line) for line in done.output.splitlines())
    assert first["query"] == BILLING and first["experts"][0]["user"] == "UERIN"
    assert second["experts"][0]["user"] == "ULEE" and first["left"] == []
    assert all(isinstance(r, str) for e in first["experts"] for r in e["reasons"])
    assert "similar question" in first["experts"][0]["reasons"][0]


def test_user_groups_mapped_to_topics_count_for_their_members(world: World) -> None:
    from knowledge.expert_profiles import ExpertBook

    bot = world.bot
    ExpertBook(world.store).map_group("SNET", "netops", "vpn")
    bot.fake.add_usergroup("SNET", "netops", ["UKIM"])
    assert bot.app.refresh_groups() == 1
    question, _ = bot.questions.receive(AskInput("U123", "my vpn keeps dropping",
                                                 QuestionSource.DM))
    ranked, _ = world.router.rank(question)
    kim = next(e for e in ranked if e.user == "UKIM")
    assert any("knows about vpn" in r for r in kim.reasons)


def test_the_scheduler_refits_routing_only_when_the_history_changed(world: World) -> None:
    from knowledge.routing_fit import load_fit

    assert load_fit(world.store).fitted_at is None
    world.bot.app.hourly()  # what the scheduler runs: groups, nudges, the routing refit
    first = load_fit(world.store)
    assert first.fitted_at is not None
    assert not first.fitted and "answered entries" in first.reason  # 8 answers: the defaults
    world.clock.advance(60)
    world.bot.app.refit_routing()
    assert load_fit(world.store).fitted_at == first.fitted_at  # nothing changed: no refit


def test_slack_says_who_left_and_who_came_back(world: World) -> None:
    """`user_change` marks an account deactivated (and reactivated): the ranker stops (and
    resumes) suggesting that person, before anyone tries to DM them."""
    from knowledge.expert_profiles import ExpertBook

    bot, experts = world.bot, ExpertBook(world.store)
    question, _ = bot.questions.receive(AskInput("U123", BILLING, QuestionSource.DM))
    assert world.router.rank(question)[0][0].user == "UERIN"
    bot.fake.users["UERIN"]["deleted"] = True
    assert bot.send(signing.user_change(bot.fake.users["UERIN"]))[0] == 200
    bot.settle()
    assert experts.prefs("UERIN").deactivated and experts.departed() == {"UERIN"}
    ranked = [e.user for e in world.router.rank(question)[0]]
    assert "UERIN" not in ranked and ranked[0] == "UOMAR"
    _, asked = ask_and_request_expert(world)
    routes = Routes(world.store).for_question(asked)
    assert "UERIN" not in [r.expert for r in routes] and routes[0].expert == "UOMAR"
    # she is back: suggested again
    bot.fake.users["UERIN"]["deleted"] = False
    assert bot.send(signing.user_change(bot.fake.users["UERIN"]))[0] == 200
    bot.settle()
    assert not experts.prefs("UERIN").deactivated
    assert world.router.rank(question)[0][0].user == "UERIN"
    # a failed DM marked Kim gone, though Slack never said so: the hourly check brings her back
    experts.set_deactivated("UKIM")
    assert bot.app.recheck_departed() == 1 and experts.departed() == set()
    bot.fake.users["UERIN"]["deleted"] = True  # gone for real (the event was missed): stays gone
    experts.set_deactivated("UERIN")
    assert bot.app.recheck_departed() == 0 and experts.departed() == {"UERIN"}
    experts.set_deactivated("UERIN", False)
    # an ordinary profile edit (a new status) writes nothing; a malformed event is ignored
    rows = "SELECT user, deactivated, updated_at FROM expert_prefs ORDER BY user"
    before = world.store.query(rows)
    world.clock.advance(minutes=1)
    bot.fake.users["ULEE"]["profile"]["status_text"] = "on holiday"
    for payload in (signing.user_change(bot.fake.users["ULEE"]),
                    signing.user_change({"id": "ULEE", "deleted": "yes"}),
                    signing.user_change({"name": "nobody"})):
        assert bot.send(payload)[0] == 200
    bot.settle()
    assert world.store.query(rows) == before and experts.departed() == set()
