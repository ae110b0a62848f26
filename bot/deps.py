"""What the listeners need, handed to each module's register(app, deps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.answering import Answerer
from bot.people import People
from knowledge.questions import Question, QuestionBook


@dataclass(frozen=True)
class BotDeps:
    answerer: Answerer
    questions: QuestionBook
    people: People
    # Called when an asker asks for an expert; expert routing plugs in here.
    on_expert_requested: Callable[[Question], None] | None = None
    # Publishes someone's App Home (None: the plain Home with their recent questions).
    publish_home: Callable[[WebClient, str], None] | None = None
