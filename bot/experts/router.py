"""The one object the app, the scheduler and the listeners hold for expert routing."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient

from bot.experts.answers import Answers
from bot.experts.asking import CANDIDATES, ExpertAsker
from bot.experts.escalation import Escalation
from bot.experts.messages import ExpertMessages
from bot.people import People
from index.expert_finder import ExpertFinder
from index.routing_fit import RoutingFitter
from index.search import HybridSearch
from knowledge.escalation import Route, Routes
from knowledge.expert_profiles import ExpertBook
from knowledge.expert_ranking import ExpertScore
from knowledge.questions import Question, QuestionBook
from knowledge.routing_policy import RoutingPolicy


class ExpertRouter:
    """Routes questions to people and carries their answers back: `asker` chooses and asks,
    `escalation` moves the ladder on, `answers` delivers what people answer."""

    def __init__(self, client: WebClient, search: HybridSearch, questions: QuestionBook,
                 people: People, policy: RoutingPolicy | None = None) -> None:
        self.policy = policy or RoutingPolicy()
        self.routes = Routes(search.store)
        self.experts = ExpertBook(search.store)
        self.messages = ExpertMessages(client, questions, people)
        self.asker = ExpertAsker(self.messages, ExpertFinder(search), self.routes, self.experts,
                                 self.policy)
        self.escalation = Escalation(self.messages, self.asker, self.routes, questions,
                                     self.policy)
        self.answers = Answers(self.messages, self.asker, self.routes, questions, self.policy)
        # the ranker fitted on this organisation's own history (index/routing_fit.py)
        self.fitter = RoutingFitter(search.store, search.entries, search.embedder)

    def request(self, question: Question) -> None:
        """Route `question` (the asker asked for an expert, or nothing was found). Idempotent."""
        self.escalation.start(question)

    def tick(self, now: datetime | None = None) -> int:
        """Move every overdue ladder on; returns how many moved (the scheduler calls this)."""
        return self.escalation.tick(now)

    def rank(self, question: Question, k: int = CANDIDATES) -> tuple[list[ExpertScore], str | None]:
        return self.asker.rank(question, k)

    def open_route(self, route_id: int, user: str) -> Route | None:
        return self.asker.open_route(route_id, user)
