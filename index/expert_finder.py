"""Who knows about a question: the question's nearest entries from the index and its most
similar routed questions (whose outcomes count), handed to the domain's ExpertRanker (so
history is never re-embedded per question)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from index.routed_questions import RoutedQuestions
from index.search import HybridSearch
from knowledge.expert_profiles import ExpertBook
from knowledge.expert_ranking import ExpertRanker, ExpertScore, question_topics


@dataclass(frozen=True)
class Ranking:
    experts: list[ExpertScore]
    topics: list[str]  # the question's likely topics, most likely first
    left: tuple[str, ...] = ()  # would have ranked among `experts` but left (deactivated)

    @property
    def topic(self) -> str | None:
        return self.topics[0] if self.topics else None


class ExpertFinder:
    def __init__(self, search: HybridSearch, ranker: ExpertRanker | None = None) -> None:
        self.search = search
        self.ranker = ranker or ExpertRanker(search.store)
        self.experts = ExpertBook(search.store)
        self.routed = RoutedQuestions(search.store, search.embedder)

    def rank(self, text: str, *, exclude: Iterable[str] = (), k: int = 5,
             question_id: int | None = None) -> Ranking:
        """People ranked for a question's `text` (`question_id`: the question itself, never
        counted as its own routed evidence)."""
        vector = self.search.embedder.embed([text])[0]
        self.routed.remember(text, vector)
        self.search.entries.sync()
        neighbours = self.search.entries.nearest(vector, self.ranker.weights.reach)
        entries = self.search.store.get_entries(i for i, _ in neighbours[:5])
        tags = [(entries[i].tags, s) for i, s in neighbours[:5] if i in entries]
        topics = question_topics(tags, text, self.experts.all_topics())
        routed = self.routed.similar(vector, self.ranker.weights.outcome_neighbours,
                                     exclude=question_id)
        ranked = self.ranker.rank_explained(neighbours, topics=topics[:3], exclude=exclude,
                                            k=k, routed=routed)
        return Ranking(ranked.experts, topics, ranked.left)
