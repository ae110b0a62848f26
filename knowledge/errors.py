"""Named errors raised by Switchboard's domain, each with a message a person can act on.

    SwitchboardError            anything Switchboard itself refuses
     ├── InvalidInput           the caller gave something we cannot use (bad field, bad query)
     │    └── ImportRejected    a file had bad rows; carries every RowProblem
     ├── NotFound               no such entry (or question, expert, ...)
     └── IndexUnusable          the vector index on disk does not fit this model or database

Callers at the edges (CLI, Slack listeners) turn these into friendly text; nothing else should
need to catch them.
"""

from __future__ import annotations

from dataclasses import dataclass


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""


class InvalidInput(SwitchboardError):
    """Input that cannot be used as given; the message says what to change."""


class NotFound(SwitchboardError):
    """The thing asked for does not exist."""


class DatabaseUnavailable(SwitchboardError):
    """The database cannot be reached or opened; the message says which and why."""


class IndexUnusable(SwitchboardError):
    """An index file that must not be used (wrong model, dimension or database)."""


@dataclass(frozen=True)
class RowProblem:
    """One bad row of an import: where it is and what is wrong with it."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


class ImportRejected(InvalidInput):
    """An import file had bad rows, so nothing was written."""

    def __init__(self, problems: list[RowProblem],
                 hint: str = "Fix them, or pass --skip-invalid to import the good rows only"
                 ) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{len(problems)} bad row(s); nothing was imported. {hint}:\n{shown}{more}"
        )
