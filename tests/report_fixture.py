"""A small, fully known history of questions, routes and feedback, for the analytics, the
terminal report and the HTML report. Written through the domain's own code paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knowledge.escalation import Routes, RouteStatus
from knowledge.models import EntryDraft
from knowledge.questions import AskInput, QuestionBook, QuestionSource, ShownHit, Verdict
from knowledge.store import Store
from tests.clock import ManualClock

END = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def build(store_path) -> tuple[Store, ManualClock]:
    """10 questions over 3 days:
    - 4 self-serve (3 confident answers, 1 suggestion marked solved), answered in 2 s each;
    - 3 answered by experts (routed; Erin answers two after 10 and 30 minutes, Omar one after
      20 minutes; Omar also passed once);
    - 1 suggestion nobody confirmed;
    - 2 unanswered, both about parking in Lisbon (one knowledge gap of size 2).
    Entry "How do refunds work?" was used twice; "VPN drops hourly" got one "not helpful".
    """
    clock = ManualClock(END - timedelta(days=3))
    store = Store.open(store_path, clock=clock)
    refunds = store.add_entry(EntryDraft("How do refunds work?", "From billing.",
                                         answered_by="UERIN")).id
    vpn = store.add_entry(EntryDraft("VPN drops hourly", "Raise the idle timeout.",
                                     answered_by="ULEE")).id
    book, routes = QuestionBook(store), Routes(store)

    def ask(text: str) -> int:
        clock.now += timedelta(hours=2)
        q, _ = book.receive(AskInput("U1", text, QuestionSource.MENTION, channel="C1",
                                     message_ts=f"{clock.now.timestamp():.6f}"))
        return q.id

    def reply(qid: int, entry: int | None, tier: str, after: float = 2.0) -> None:
        clock.now += timedelta(seconds=after)
        hits = [ShownHit(entry, 0.9, tier)] if entry else []
        book.record_reply(qid, hits, tier, "C1", f"{clock.now.timestamp():.6f}")

    for text in ("refund an order", "refund a plan", "vpn drops"):
        qid = ask(text)
        reply(qid, refunds if "refund" in text else vpn, "answer")
    qid = ask("money back?")
    reply(qid, refunds, "suggest")
    book.record_feedback(qid, "U1", Verdict.SOLVED, refunds)
    qid = ask("vpn slow")
    reply(qid, vpn, "suggest")
    book.record_feedback(qid, "U1", Verdict.NOT_HELPFUL, vpn)  # "suggested", unconfirmed

    for expert, minutes, passer in (("UERIN", 10, "UOMAR"), ("UERIN", 30, None),
                                    ("UOMAR", 20, None)):
        qid = ask(f"hard question for {expert} {minutes}")
        reply(qid, None, "none")
        routes.start(qid, 15)
        route = routes.add(qid, expert, 1, 0.5, ["x"])
        if passer:
            other = routes.add(qid, passer, 1, 0.4, ["y"])
            clock.now += timedelta(minutes=5)
            routes.respond(other.id, RouteStatus.PASSED)
            clock.now += timedelta(minutes=minutes - 5)
        else:
            clock.now += timedelta(minutes=minutes)
        routes.respond(route.id, RouteStatus.ANSWERED)
        book.record_expert_answer(qid, expert, "the answer")

    for text in ("parking at the Lisbon office", "where can I park my car in Lisbon office"):
        qid = ask(text)
        reply(qid, None, "none")
    clock.now = END
    return store, clock
