"""BM25 over the published entries and their phrasings (SQLite FTS5, kept in step by the
triggers of migrations 0001 and 0012), with a budget on how many postings one query may score."""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.text import lexical_terms

if TYPE_CHECKING:
    from knowledge.store import Store

# BM25 column weights: question, answer, tags, phrasings. Equal: the entry's whole text is one
# document (FTS5 sums a word's weighted counts over the columns and normalises by the row's whole
# length). Out of fold on both shared data sets this ranks better than the former weights
# (1, 0.35, 0.5, 1); bench/lexical_fields.py chooses the answer's weight leaving one data set out.
BM25_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
POSTINGS_BUDGET = 5_000  # ~3 ms of BM25 scoring on these machines
MIN_TERMS = 2
DF_CACHE_CHANGES = 500  # document frequencies are re-counted after this many changes
DF_CACHE_TERMS = 50_000


class LexicalSearch:
    """Ranked keyword search over the store's published entries."""

    def __init__(self, store: Store, weights: tuple[float, float, float, float] = BM25_WEIGHTS
                 ) -> None:
        self.store = store
        self.weights = ", ".join(str(float(w)) for w in weights)  # bm25()'s column weights
        self._df: dict[str, int] = {}  # document frequency per search term (a cache)
        self._df_cursor = 0

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """Published entries matching any of the query's words, best BM25 first.

        Scores are positive (higher is better). Words are OR-ed: natural questions rarely
        share every word with their answer. Scoring costs time per matching entry, so words
        are taken rarest first until about POSTINGS_BUDGET matches (the two rarest always):
        the words left out are so common that BM25 gives them little weight anyway.
        """
        terms = self._affordable_terms(lexical_terms(query))
        if not terms or limit <= 0:
            return []
        expression = " OR ".join(f'"{term}"' for term in terms)
        rows = self.store.query(
            f"SELECT rowid AS id, -bm25(entries_fts, {self.weights}) AS score "
            "FROM entries_fts WHERE entries_fts MATCH ? "
            f"ORDER BY bm25(entries_fts, {self.weights}) LIMIT ?",
            [expression, limit],
        )
        return [(row["id"], float(row["score"])) for row in rows]

    def _affordable_terms(self, terms: list[str]) -> list[str]:
        if len(terms) <= MIN_TERMS:
            return terms
        cursor = self.store.changes.cursor()
        if cursor - self._df_cursor > DF_CACHE_CHANGES or len(self._df) > DF_CACHE_TERMS:
            self._df.clear()
            self._df_cursor = cursor
        for term in terms:
            if term not in self._df:
                rows = self.store.query(
                    "SELECT count(*) AS n FROM entries_fts WHERE entries_fts MATCH ?",
                    [f'"{term}"'],
                )
                self._df[term] = rows[0]["n"]
        chosen, postings = [], 0
        for term in sorted(terms, key=lambda t: self._df[t]):
            if len(chosen) >= MIN_TERMS and postings + self._df[term] > POSTINGS_BUDGET:
                break
            chosen.append(term)
            postings += self._df[term]
        return chosen
