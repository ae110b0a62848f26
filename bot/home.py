"""The App Home, built per person: their questions; for experts, what waits for them; for
admins, the review queue, entries that need a look, duplicates, gaps and the figures.

Building a Home never calls the model nor scans the index: duplicates and gaps come from the
cache that `refresh_insights` (run by the scheduler) keeps (index/insights.py).
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.admin import Admins
from bot.blocks.home import AdminHome, ExpertHome, RecentQuestion, home_view
from bot.people import People
from index.duplicates import resolve_pairs
from index.insights import AdminInsights
from index.search import HybridSearch
from knowledge.analytics import Analytics
from knowledge.curation import Curator, StalenessRules
from knowledge.escalation import Routes
from knowledge.expert_profiles import ExpertBook
from knowledge.questions import QuestionBook

log = logging.getLogger(__name__)
GAP_SAMPLE = 200  # unanswered questions grouped for the Home (the report groups them all)
SHOWN = 3  # duplicate pairs and gaps shown


class HomePublisher:
    def __init__(self, search: HybridSearch, questions: QuestionBook, people: People,
                 admins: Admins, staleness: StalenessRules | None = None) -> None:
        self.search = search
        self.store = search.store
        self.questions = questions
        self.people = people
        self.admins = admins
        self.staleness = staleness or StalenessRules()
        self.curator = Curator(self.store)
        self.routes = Routes(self.store)
        self.experts = ExpertBook(self.store)
        self.insights = AdminInsights(self.store, search.entries, search.embedder,
                                      sample=GAP_SAMPLE)

    def refresh_insights(self, force: bool = False) -> bool:
        """Work out duplicates and gaps again if due (see AdminInsights.refresh)."""
        return self.insights.refresh(force)

    def view(self, user: str) -> dict:
        recent = [RecentQuestion(q.text, q.status.value, q.created_at)
                  for q in self.questions.recent_for(user, limit=10)]
        return home_view(recent, self._expert(user),
                         self._admin() if self.admins.is_admin(user) else None)

    def publish(self, client: WebClient, user: str) -> None:
        client.views_publish(user_id=user, view=self.view(user))

    def _expert(self, user: str) -> ExpertHome | None:
        routes = self.routes.open_for(user)
        topics = self.experts.topics(user)
        helped = self.curator.people_helped(user)
        prefs = self.experts.prefs(user)
        answered = self.curator.answers_by(user)
        if not (routes or topics or helped or answered or prefs.away_until):
            return None  # not an expert (yet): keep their Home simple
        questions = []
        for route in routes[:5]:
            questions.append((route.id, self.questions.get(route.question_id).full_text))
        away = prefs.away_until if prefs.away_until and prefs.away_until > self.store.clock() \
            else None
        return ExpertHome(tuple(questions), tuple(topics), away, helped)

    def _admin(self) -> AdminHome:
        report = Analytics(self.store).report(days=7, top=3, list_unanswered=False)
        queue = self.curator.review_queue(limit=5)
        stale = self.curator.stale(self.staleness, limit=5)
        cached = self.insights.latest
        duplicates = resolve_pairs(self.store, cached.duplicates)[:SHOWN] if cached else []
        gaps = list(cached.gaps[:SHOWN]) if cached else []
        people = {i.entry.answered_by for i in queue} | {s.entry.answered_by for s in stale}
        names = {p: self.people.name(p) or p for p in people if p}
        return AdminHome(report, self.curator.pending_count(), queue, stale, duplicates, gaps,
                         names, insights_ready=cached is not None)
