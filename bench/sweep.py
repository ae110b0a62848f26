"""Sweep the hybrid's free parameters on both retrieval sets (how the defaults were chosen).

    python -m bench.sweep

Prints StackFAQ MRR@10 and SemEval MAP for each fusion weight, saturation and length of answer
opening embedded with the question. Pick a setting that is good on both, not best on one.
"""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table

import index.entry_index as entry_index
from bench.common import onnx_embedder
from bench.retrieval import DEFAULT_DATA, semeval, stackfaq
from index.search import Fusion


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = onnx_embedder()
    table = Table(title="Hybrid parameter sweep")
    for column in ("answer words", "weight", "saturation", "FAQ P@1", "FAQ MRR@10", "SemEval MAP"):
        table.add_column(column)
    for words in (0, 24, 48, 96, 200):
        entry_index.ANSWER_WORDS = words
        for weight in (0.0, 0.1, 0.2, 0.3, 0.5):
            for saturation in (4.0, 8.0, 16.0) if weight else (8.0,):
                fusion = Fusion(weight, saturation)
                faq = stackfaq(embedder, DEFAULT_DATA, fusion)["hybrid"]
                sem = semeval(embedder, DEFAULT_DATA, fusion)["hybrid"]
                table.add_row(
                    str(words),
                    str(weight),
                    str(saturation),
                    f"{faq['p@1']:.3f}",
                    f"{faq['mrr@10']:.4f}",
                    f"{100 * sem:.2f}",
                )
    Console().print(table)


if __name__ == "__main__":
    main()
