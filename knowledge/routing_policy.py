"""How routing behaves for an organisation: how many people per round, how long to wait, where
to fall back to, whether captured answers publish at once, and who may be asked when."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.availability import AvailabilityRules


@dataclass(frozen=True)
class RoutingPolicy:
    """How routing behaves (settings; see README "Routing")."""

    route_to: int = 2  # experts asked per round
    sla_minutes: float = 15.0  # wait this long for an answer before escalating
    topic_sla: tuple[tuple[str, float], ...] = ()  # per-topic overrides of sla_minutes
    fallback_channel: str | None = None  # asked when no expert answered in time
    publish_captured: bool = False  # captured answers publish at once (else: review)
    snooze_minutes: float = 60.0
    rules: AvailabilityRules = field(default_factory=AvailabilityRules)

    def sla_for(self, topic: str | None) -> float:
        return dict(self.topic_sla).get((topic or "").lower(), self.sla_minutes)
