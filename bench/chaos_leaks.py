"""The leak storm: try to get restricted knowledge out of the bot through every surface.

    HF_HUB_OFFLINE=1 python -m bench.chaos_leaks [--quick]

The world (bench/chaos_world.py) is a real bot over a knowledge base of public entries and
restricted ones (users:UADA, users:UADA,UCAT, channel:CPRIV01, a private channel Ben is not in),
each with a unique marker. Attempts: @mentions in the public channel (by insiders too), in the
private channel, DMs, /ask in either, the message shortcut, the App Home modal and Home tabs,
follow-ups in threads, "Ask an expert" (the experts' request DMs), an expert's answer to a
private-channel question and the fallback channel's answer (then the same question asked by
outsiders), and forged clicks and modal submissions naming other people's questions, entries
and routes. After each attempt every Web API call recorded since the one before is scanned for
markers; a marker is a leak when a reader of that call may not see its entry.

Positive controls (a marker that should reach someone allowed) are counted separately: the
bench must see markers to be believed when it sees none.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from bench.chaos_world import (
    ADA,
    BEN,
    CAT,
    FALLBACK,
    PRIVATE,
    PRIVATE_MEMBERS,
    PUBLIC,
    LeakWorld,
)
from knowledge.escalation import OPEN, LadderState, Routes
from sandbox.slack_api import signing
from sandbox.slack_api.blockkit import button_values
from sandbox.slack_api.workspace import new_ts

log = logging.getLogger("bench.chaos_leaks")
DEAL = "How do I refund a duplicate charge on an enterprise invoice?"
DISCOUNT = "What discount can the deal desk approve on an enterprise renewal?"
SALARY = "When is my salary review and who decides my raise?"
SEVERANCE = "What severance terms were agreed for the Porto office closure?"
OWN_REFUND = "Refund of a duplicate charge on my own account"
# query -> the restricted marker it should find for someone allowed to see it
QUERIES = {DEAL: "SECRETDEAL1", DISCOUNT: "SECRETDEAL2", SALARY: "SECRETADA2",
           SEVERANCE: "SECRETPAIR1", OWN_REFUND: "SECRETADA1"}
NOBODY_KNOWS = "Who keeps the spare key to the Lisbon office server cage?"
NOBODY_KNOWS_2 = "Where do we archive the signed NDAs for the deal desk?"


@dataclass
class Tally:
    attempts: int = 0
    forged: int = 0
    leaks: int = 0
    forged_leaks: int = 0
    positive_controls: int = 0
    positive_controls_ok: int = 0
    http_errors: int = 0
    examples: list[str] = field(default_factory=list)
    missed_controls: list[str] = field(default_factory=list)


class Storm:
    """Runs attempts against the world and tallies what leaked."""

    def __init__(self, world: LeakWorld) -> None:
        self.world = world
        self.tally = Tally()

    def attempt(self, name: str, actor: str, action: Callable[[], object],
                expect: tuple[str, ...] = (), forged: bool = False) -> None:
        """Run one attempt; every marker in the calls it caused is judged by its readers."""
        mark = self.world.mark()
        action()
        self.world.settle()
        found = self.world.scan(self.world.calls_since(mark), actor)
        leaked = [e for e in found if not e.allowed]
        t = self.tally
        if forged:
            t.forged += 1
            t.forged_leaks += len(leaked)
        else:
            t.attempts += 1
            t.leaks += len(leaked)
        t.examples.extend(e.describe(name) for e in leaked)
        if expect:
            t.positive_controls += 1
            seen = {e.marker for e in found if e.allowed}
            if set(expect) <= seen:
                t.positive_controls_ok += 1
            else:
                t.missed_controls.append(f"{name}: expected {sorted(set(expect) - seen)}")
        log.info("%s: %d marker(s), %d leaked", name, len(found), len(leaked))

    def could_not(self, name: str) -> None:
        """A flow that never got far enough to be tried counts as a failed positive control."""
        self.tally.positive_controls += 1
        self.tally.missed_controls.append(f"{name}: not reached")

    # -- what people do ------------------------------------------------------------------------
    def post(self, payload: signing.Payload) -> None:
        if self.world.send(payload) != 200:
            self.tally.http_errors += 1

    def mention(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> str:
        ts = new_ts()
        payload = signing.app_mention(text, user_id=user, channel_id=channel, ts=ts,
                                      thread_ts=thread_ts)
        self.world.fake.add_message(channel, payload.data["event"])
        self.post(payload)
        return ts

    def reply_in_thread(self, user: str, channel: str, thread_ts: str, text: str) -> None:
        ts = new_ts()
        event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel,
                 "thread_ts": thread_ts, "event_ts": ts, "channel_type": "channel",
                 "team": signing.TEAM_ID, "blocks": signing.rich_text(text)}
        self.world.fake.add_message(channel, event)
        self.post(signing.event_callback(event))

    def dm(self, user: str, text: str) -> None:
        self.post(signing.message_im(text, user_id=user))

    def slash(self, user: str, channel: str, text: str) -> None:
        kind = "privategroup" if channel == PRIVATE else "general"
        self.post(signing.slash_command("/ask", text, user_id=user, channel_id=channel,
                                        channel_name=kind, trigger_id=self.world.trigger(user),
                                        response_url=self.world.hook(user, channel)))

    def shortcut(self, user: str, channel: str, author: str, text: str) -> None:
        message = {"ts": new_ts(), "user": author, "text": text}
        self.post(signing.message_shortcut("ask_switchboard", message, channel_id=channel,
                                           user_id=user, trigger_id=self.world.trigger(user),
                                           response_url=self.world.hook(user, channel)))

    def home_modal(self, user: str, text: str) -> None:
        home = {"id": f"VHOME{user}", "type": "home"}
        self.post(signing.block_actions("home_ask", user_id=user, view=home,
                                        trigger_id=self.world.trigger(user)))
        self.post(signing.view_submission("ask_modal", {"ask_question":
                                                        {"ask_question_text": text}},
                                          user_id=user))

    def press(self, user: str, action_id: str, value: str, channel: str,
              ts: str | None = None, ephemeral: bool = False) -> None:
        """A click by `user` on a message in `channel` (`ts`), or on an ephemeral one."""
        ts = ts or new_ts()
        container = {"type": "message", "message_ts": ts, "channel_id": channel,
                     "is_ephemeral": ephemeral}
        public = not ephemeral and not channel.startswith("D")
        self.post(signing.block_actions(action_id, value, user_id=user, channel_id=channel,
                                        message_ts=ts, container=container,
                                        trigger_id=self.world.trigger(user),
                                        response_url=self.world.hook(user, channel, public)))

    def submit_answer(self, user: str, metadata: str, text: str) -> None:
        self.post(signing.view_submission(
            "expert_answer_modal", {"expert_answer_text": {"expert_answer_input": text}},
            user_id=user, private_metadata=metadata))

    def card(self, question_id: int) -> tuple[str | None, str | None, dict[str, str]]:
        """Where a question's card is (channel, ts) and its buttons (from the fake's history)."""
        row = self.world.store.query("SELECT reply_channel, reply_ts FROM questions WHERE id = ?",
                                     [question_id])[0]
        channel, ts = row["reply_channel"], row["reply_ts"]
        message = self.world.fake.find_message(channel, ts) if channel and ts else None
        return channel, ts, button_values(message.get("blocks") if message else [])


def ordinary_attempts(storm: Storm, quick: bool) -> dict[str, int]:
    """Asking through every surface, by insiders and outsiders; returns question ids for the
    forged clicks."""
    w, s = storm.world, storm
    queries = list(QUERIES.items())[:1] if quick else list(QUERIES.items())
    anything = set(QUERIES.values())
    in_private = {"SECRETDEAL1", "SECRETDEAL2"}  # what a reply in #deal-desk may show
    for_cat = {"SECRETDEAL1", "SECRETDEAL2", "SECRETPAIR1"}
    surfaces: list[tuple[str, str, Callable[[str], object], set[str]]] = [
        ("Ben @mention in public", BEN, partial(s.mention, BEN, PUBLIC), set()),
        ("Ada @mention in public", ADA, partial(s.mention, ADA, PUBLIC), set()),
        ("Ada @mention in private", ADA, partial(s.mention, ADA, PRIVATE), in_private),
        ("Ben DM", BEN, partial(s.dm, BEN), set()),
        ("Ada DM", ADA, partial(s.dm, ADA), anything),
        ("Ben /ask in public", BEN, partial(s.slash, BEN, PUBLIC), set()),
        ("Ada /ask in public", ADA, partial(s.slash, ADA, PUBLIC), anything),
        ("Cat /ask in private", CAT, partial(s.slash, CAT, PRIVATE), for_cat),
    ]
    for n, (text, marker) in enumerate(queries):
        for name, actor, ask, may_show in surfaces:
            s.attempt(f"{name} #{n}", actor, partial(ask, text),
                      expect=(marker,) if marker in may_show else ())
    s.attempt("Ben shortcut on Ada's public message", BEN,
              lambda: s.shortcut(BEN, PUBLIC, ADA, DEAL))
    ids = {"ada_dm": w.question_id(asker=ADA, source="dm"),
           "ada_ask": w.question_id(asker=ADA, source="command"),
           "ada_private": w.question_id(asker=ADA, channel=PRIVATE, source="mention"),
           "ben_dm": w.question_id(asker=BEN, source="dm")}
    s.attempt("Ben Home modal", BEN, lambda: s.home_modal(BEN, DEAL))
    s.attempt("Ada Ask an expert from her DM card", ADA,
              lambda: s.press(ADA, "answer_ask_expert", f"{ids['ada_dm']}:0",
                              *s.card(ids["ada_dm"])[:2]))
    if quick:
        return ids
    s.attempt("Ben shortcut on Ada's message (salary)", BEN,
              lambda: s.shortcut(BEN, PUBLIC, ADA, SALARY))
    s.attempt("Ada shortcut on a public message", ADA,
              lambda: s.shortcut(ADA, PUBLIC, BEN, DISCOUNT), expect=("SECRETDEAL2",))
    s.attempt("Ben Home modal (salary)", BEN, lambda: s.home_modal(BEN, SALARY))
    s.attempt("Ada Home modal", ADA, lambda: s.home_modal(ADA, SALARY), expect=("SECRETADA2",))
    s.attempt("Cat Home modal", CAT, lambda: s.home_modal(CAT, SEVERANCE),
              expect=("SECRETPAIR1",))
    # follow-ups in threads
    vague = "Quick question about refunds please"
    public_ts = s.mention(ADA, PUBLIC, vague)
    s.attempt("Ada follow-up in her public thread", ADA, lambda: s.reply_in_thread(
        ADA, PUBLIC, public_ts, "It is a duplicate charge on an enterprise invoice, deal desk"))
    s.attempt("Ben @mention in Ada's public thread", BEN,
              lambda: s.mention(BEN, PUBLIC, SALARY, thread_ts=public_ts))
    private_ts = s.mention(ADA, PRIVATE, vague)
    s.attempt("Ada follow-up in her private thread", ADA, lambda: s.reply_in_thread(
        ADA, PRIVATE, private_ts, "It is a duplicate charge on an enterprise invoice, deal desk"),
              expect=("SECRETDEAL1",))
    s.attempt("Cat reply in Ada's private thread", CAT, lambda: s.reply_in_thread(
        CAT, PRIVATE, private_ts, "What discount can the deal desk approve on a renewal?"))
    # "Ask an expert" from every kind of card
    ids["ada_private_thread"] = w.question_id(asker=ADA, channel=PRIVATE, message_ts=private_ts)
    s.attempt("Ada Ask an expert from her /ask card", ADA,
              lambda: s.press(ADA, "answer_ask_expert", f"{ids['ada_ask']}:0", PUBLIC,
                              ephemeral=True))
    s.attempt("Ada Ask an expert in the private channel", ADA,
              lambda: s.press(ADA, "answer_ask_expert", f"{ids['ada_private']}:0",
                              *s.card(ids["ada_private"])[:2]))
    s.attempt("Ben Ask an expert from his DM card", BEN,
              lambda: s.press(BEN, "answer_ask_expert", f"{ids['ben_dm']}:0",
                              *s.card(ids["ben_dm"])[:2]))
    for user in (ADA, BEN, CAT, "UERIN", "UOMAR"):
        s.attempt(f"Home tab of {user}", user,
                  lambda user=user: s.post(signing.app_home_opened(user)))
    return ids


def expert_flows(storm: Storm, quick: bool) -> dict[str, int]:
    """A private-channel question answered by an expert, another through the fallback channel;
    then outsiders ask the same questions."""
    w, s = storm.world, storm
    routes = Routes(w.store)
    ts = s.mention(CAT, PRIVATE, NOBODY_KNOWS)
    cat_q = w.question_id(asker=CAT, message_ts=ts)
    s.attempt("Cat asks for an expert in private", CAT, lambda: s.press(
        CAT, "answer_ask_expert", f"{cat_q}:0", *s.card(cat_q)[:2]))
    asked = [r for r in routes.for_question(cat_q) if r.status in OPEN]
    if asked:
        expert = asked[0].expert
        w.allow("SECRETXP1", {*PRIVATE_MEMBERS, expert})

        def answer() -> None:
            s.press(expert, "expert_answer", str(asked[0].id), asked[0].dm_channel or "",
                    asked[0].dm_ts)
            opened = w.fake.calls_to("views.open")[-1].args["view"]
            s.submit_answer(expert, opened["private_metadata"],
                            "SECRETXP1: the spare key is in the deal desk safe, code 4471.")
        s.attempt("expert answers the private question", expert, answer, expect=("SECRETXP1",))
    else:
        s.could_not("expert answers the private question (nobody was asked)")
    s.attempt("Ben DMs the same question", BEN, lambda: s.dm(BEN, NOBODY_KNOWS))
    if quick:
        return {"cat_private": cat_q}
    s.attempt("Ben @mentions it in public", BEN, lambda: s.mention(BEN, PUBLIC, NOBODY_KNOWS))
    s.attempt("Cat DMs the same question", CAT, lambda: s.dm(CAT, NOBODY_KNOWS),
              expect=("SECRETXP1",) if asked else ())
    # the fallback channel: escalate until nobody is left, then Ben answers from #help-desk
    ts = s.mention(ADA, PRIVATE, NOBODY_KNOWS_2)
    ada_q = w.question_id(asker=ADA, message_ts=ts)
    s.attempt("Ada asks for an expert in private", ADA, lambda: s.press(
        ADA, "answer_ask_expert", f"{ada_q}:0", *s.card(ada_q)[:2]))

    def escalate() -> None:
        for _ in range(8):
            ladder = routes.ladder(ada_q)
            if ladder is None or ladder.state is not LadderState.ROUTING:
                break
            w.clock.advance(16)
            w.bot.router.tick()
            w.settle()
    s.attempt("Ada's private question escalates to the fallback channel", ADA, escalate)
    ladder = routes.ladder(ada_q)
    if ladder is not None and ladder.fallback_ts:
        w.allow("SECRETXP2", {*PRIVATE_MEMBERS, BEN})

        def fallback_answer() -> None:
            s.press(BEN, "fallback_answer", str(ada_q), FALLBACK, ladder.fallback_ts)
            opened = w.fake.calls_to("views.open")[-1].args["view"]
            s.submit_answer(BEN, opened["private_metadata"],
                            "SECRETXP2: signed NDAs go to the deal desk drive, folder Legal.")
        s.attempt("Ben answers it from the fallback channel", BEN, fallback_answer,
                  expect=("SECRETXP2",))
        s.attempt("Lee DMs the same question", "ULEE", lambda: s.dm("ULEE", NOBODY_KNOWS_2))
        s.attempt("Lee /asks it in public", "ULEE", lambda: s.slash("ULEE", PUBLIC,
                                                                   NOBODY_KNOWS_2))
    else:
        s.could_not("fallback answer (the question never reached the fallback channel)")
    return {"cat_private": cat_q, "ada_fallback": ada_q}


def forged_attempts(storm: Storm, ids: dict[str, int], quick: bool) -> None:
    """Signed clicks and submissions by Ben (truthful about who and where he is) whose values
    name other people's questions, entries and routes."""
    w, s = storm.world, storm
    dm_q, ask_q, private_q = ids["ada_dm"], ids["ada_ask"], ids["ada_private"]
    restricted = {r["external_id"]: r["id"] for r in w.store.query(
        "SELECT id, external_id FROM entries WHERE external_id LIKE 'secret%'")}
    deal, mine = restricted["secretdeal1"], restricted["secretada1"]
    routes = [r for r in Routes(w.store).for_question(dm_q)]
    route = str(routes[0].id) if routes else "1"
    forged: list[tuple[str, Callable[[], None]]] = [
        ("Show more on Ada's DM question, from public", lambda: s.press(
            BEN, "answer_show_more", f"{dm_q}:{deal}", PUBLIC)),
        ("Show more on Ada's DM question, from Ben's DM", lambda: s.press(
            BEN, "answer_show_more", f"{dm_q}:{mine}", f"D{BEN}")),
        ("Show more on Ada's /ask card, ephemeral", lambda: s.press(
            BEN, "answer_show_more", f"{ask_q}:{deal}", PUBLIC, ephemeral=True)),
        ("Show more on Ada's private-channel question", lambda: s.press(
            BEN, "answer_show_more", f"{private_q}:{deal}", PUBLIC)),
        ("Solved naming Ada's DM question and entry, ephemeral", lambda: s.press(
            BEN, "answer_solved", f"{dm_q}:{mine}", PUBLIC, ephemeral=True)),
    ]
    if not quick:
        ben_q = ids["ben_dm"]
        fallback_q = ids.get("ada_fallback", private_q)
        forged += [
            ("Not helpful on Ada's private question, from public", lambda: s.press(
                BEN, "answer_not_helpful", f"{private_q}:{deal}", PUBLIC)),
            ("Ask an expert on Ada's DM question, from public", lambda: s.press(
                BEN, "answer_ask_expert", f"{dm_q}:0", PUBLIC)),
            ("Show more on Ben's own card naming a restricted entry", lambda: s.press(
                BEN, "answer_show_more", f"{ben_q}:{deal}", *s.card(ben_q)[:2])),
            ("Show more claiming Ada's DM as the channel", lambda: s.press(
                BEN, "answer_show_more", f"{dm_q}:{mine}", f"D{ADA}",
                s.card(dm_q)[1])),
            ("Answer button on someone else's route", lambda: s.press(
                BEN, "expert_answer", route, f"D{BEN}")),
            ("Pass button on someone else's route", lambda: s.press(
                BEN, "expert_pass", route, f"D{BEN}")),
            ("Answer modal naming someone else's route", lambda: s.submit_answer(
                BEN, f"route:{route}", "forged answer")),
            ("Answer modal naming a question not in the fallback channel", lambda: s.submit_answer(
                BEN, f"question:{private_q}", "forged answer")),
            ("Fallback answer button from the public channel", lambda: s.press(
                BEN, "fallback_answer", str(fallback_q), PUBLIC)),
            ("Ask for more on Ada's question", lambda: s.press(
                BEN, "expert_answer_more", str(private_q), PUBLIC)),
            ("Mark solved on Cat's question", lambda: s.press(
                BEN, "expert_answer_solved", str(ids.get("cat_private", private_q)), PUBLIC)),
            ("Admin approve of a restricted entry", lambda: s.press(
                BEN, "admin_approve", str(deal), f"D{BEN}")),
        ]
    for name, action in forged:
        s.attempt(f"forged: {name}", BEN, action, forged=True)


def run(quick: bool = False) -> dict:
    """Run the storm; a flat dict of figures."""
    started = time.perf_counter()
    world = LeakWorld.start()
    try:
        storm = Storm(world)
        flows = expert_flows(storm, quick)
        ids = ordinary_attempts(storm, quick)
        forged_attempts(storm, {**ids, **flows}, quick)
        t = storm.tally
        return {
            "attempts": t.attempts, "forged": t.forged, "leaks": t.leaks,
            "forged_leaks": t.forged_leaks, "positive_controls": t.positive_controls,
            "positive_controls_ok": t.positive_controls_ok, "http_non_200": t.http_errors,
            "violations": len(world.fake.take_violations()),
            "web_api_calls_scanned": len(world.fake.calls),
            "judge_self_check": "ok" if world.self_check() else "FAILED",
            "leak_examples": t.examples[:10], "missed_controls": t.missed_controls[:10],
            "seconds": round(time.perf_counter() - started, 1),
        }
    finally:
        world.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO if "-v" in sys.argv[1:] else logging.WARNING,
                        stream=sys.stderr)
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
