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
    # Publishes someone's App Home (bot.home.HomePublisher).
    publish_home: Callable[[WebClient, str], None]
    # Called when an asker asks for an expert; expert routing plugs in here.
    on_expert_requested: Callable[[Question], None] | None = None
