"""An expert's own settings from their App Home: topics, "away until", and "I'm back". Anyone
may set their own; nobody can set anyone else's (the user is the one who clicked)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.blocks.admin import away_modal, topics_modal
from bot.deps import BotDeps
from bot.listeners import ack_only, guarded, open_modal
from bot.parse import click, submission
from knowledge.expert_profiles import ExpertBook

NOT_BEFORE_TODAY = "Pick today or a later day."


class ExpertSettings:
    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps
        self.experts = ExpertBook(deps.questions.store)

    def today(self):
        return self.deps.questions.store.clock().date()

    def open_topics(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (pressed := click(body)) is not None:
            view = topics_modal(self.experts.topics(pressed.user))
            open_modal(self.deps.questions, client, pressed, view)

    def open_away(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (pressed := click(body)) is not None:
            open_modal(self.deps.questions, client, pressed, away_modal(self.today()))

    def back(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (pressed := click(body)) is not None:
            self.experts.set_away(pressed.user, None)
            self.deps.publish_home(client, pressed.user)

    def save_topics(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (submitted := submission(body)) is not None:
            topics = submitted.text(ids.EXPERT_TOPICS_INPUT).split(",")
            self.experts.set_topics(submitted.user, topics)
            self.deps.publish_home(client, submitted.user)

    def check_away(self, body: dict[str, Any], ack: Ack) -> None:
        submitted = submission(body)
        picked = submitted.picked_date(ids.EXPERT_AWAY_DATE) if submitted else None
        if picked is None or picked < self.today():
            ack(response_action="errors", errors={ids.EXPERT_AWAY_DATE: NOT_BEFORE_TODAY})
            return
        ack()

    def save_away(self, body: dict[str, Any], client: WebClient, context: dict) -> None:
        if (submitted := submission(body)) is None:
            return
        picked = submitted.picked_date(ids.EXPERT_AWAY_DATE)
        # Bolt runs the lazy listener even when the ack refused the submission: a date the
        # modal turned down must not be saved (it could overwrite the one picked next).
        if picked is None or picked < self.today():
            return
        until = datetime.combine(picked + timedelta(days=1), time(0), tzinfo=UTC)
        self.experts.set_away(submitted.user, until)
        self.deps.publish_home(client, submitted.user)


def register(app: App, deps: BotDeps) -> None:
    settings = ExpertSettings(deps)
    app.action(ids.EXPERT_TOPICS)(ack=ack_only, lazy=[guarded(settings.open_topics)])
    app.action(ids.EXPERT_AWAY)(ack=ack_only, lazy=[guarded(settings.open_away)])
    app.action(ids.EXPERT_BACK)(ack=ack_only, lazy=[guarded(settings.back)])
    app.view(ids.EXPERT_TOPICS_MODAL)(ack=ack_only, lazy=[guarded(settings.save_topics)])
    app.view(ids.EXPERT_AWAY_MODAL)(ack=settings.check_away, lazy=[guarded(settings.save_away)])
