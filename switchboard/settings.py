"""Switchboard's configuration: the one place that reads the environment.

Every setting is documented in README.md ("Configuration"). `Settings.from_env(os.environ)` is
called once by the entry points; everything else receives the frozen result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from knowledge.availability import AvailabilityRules
from knowledge.database import redact_url
from knowledge.errors import SwitchboardError
from knowledge.recovery import RecoveryPolicy
from knowledge.routing_policy import RoutingPolicy


class SettingsError(SwitchboardError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


EMBEDDER_BACKENDS = ("onnx", "torch")


@dataclass(frozen=True)
class Settings:
    """Everything Switchboard can be configured with."""

    home: Path
    database_url: str | None = None  # PostgreSQL shared by replicas; None: SQLite in `home`
    model_cache: Path = Path.home() / ".cache" / "switchboard"
    embedder_backend: str = "onnx"
    answer_threshold: float | None = None
    suggest_threshold: float | None = None
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_base_url: str | None = None
    port: int = 3000
    log_level: str = "INFO"
    log_format: str = "json"
    routing: bool = True
    route_to: int = 2
    sla_minutes: float = 15.0
    topic_sla: tuple[tuple[str, float], ...] = ()
    fallback_channel: str | None = None
    capture: str = "review"
    work_hours: tuple[int, int] = (9, 18)
    max_open: int = 3
    daily_cap: int = 5
    admins: frozenset[str] = frozenset()
    admin_group: str | None = None
    reverify_days: int = 180
    late_answer_minutes: float = 10.0
    give_up_hours: int = 24

    @property
    def database_path(self) -> Path:
        return self.home / "switchboard.db"

    @property
    def database(self) -> str:
        """Where the store lives: SWITCHBOARD_DATABASE_URL, or the SQLite file in the home."""
        return self.database_url or str(self.database_path)

    @property
    def database_label(self) -> str:
        """`database` without a password, for logs and reports."""
        return redact_url(self.database)

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def sandbox_home(self) -> Path:
        """The sandbox's own folder: its database never mixes with a real workspace's."""
        return self.home / "sandbox"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every setting; raise SettingsError naming the first bad one."""

        def text(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        backend = (text("SWITCHBOARD_EMBEDDER") or "onnx").lower()
        if backend not in EMBEDDER_BACKENDS:
            raise SettingsError(
                f"SWITCHBOARD_EMBEDDER={backend!r} is not supported: "
                f"use one of {', '.join(EMBEDDER_BACKENDS)}."
            )
        answer = _fraction(environ, "SWITCHBOARD_ANSWER_THRESHOLD")
        suggest = _fraction(environ, "SWITCHBOARD_SUGGEST_THRESHOLD")
        if answer is not None and suggest is not None and suggest > answer:
            raise SettingsError(
                "SWITCHBOARD_SUGGEST_THRESHOLD must not be above SWITCHBOARD_ANSWER_THRESHOLD "
                f"(got {suggest} > {answer})."
            )
        base_url = text("SLACK_API_BASE_URL")
        if base_url is not None:
            if not base_url.startswith(("http://", "https://")):
                raise SettingsError(
                    f"SLACK_API_BASE_URL={base_url!r} must be an http(s) URL, "
                    "e.g. https://slack.com/api/."
                )
            if not base_url.endswith("/"):
                base_url += "/"
        return cls(
            home=Path(text("SWITCHBOARD_HOME") or ".switchboard").expanduser(),
            database_url=check_database_url(text("SWITCHBOARD_DATABASE_URL")),
            model_cache=Path(
                text("SWITCHBOARD_MODEL_CACHE") or Path.home() / ".cache" / "switchboard"
            ).expanduser(),
            embedder_backend=backend,
            answer_threshold=answer,
            suggest_threshold=suggest,
            slack_bot_token=text("SLACK_BOT_TOKEN"),
            slack_app_token=text("SLACK_APP_TOKEN"),
            slack_signing_secret=text("SLACK_SIGNING_SECRET"),
            slack_api_base_url=base_url,
            port=_port(environ),
            log_level=_log_level(environ),
            log_format=_choice(environ, "SWITCHBOARD_LOG_FORMAT", ("json", "text"), "json"),
            routing=_choice(environ, "SWITCHBOARD_ROUTING", ("on", "off"), "on") == "on",
            route_to=_count(environ, "SWITCHBOARD_ROUTE_TO", 2, 1, 10),
            sla_minutes=_minutes(environ, "SWITCHBOARD_SLA_MINUTES", 15.0),
            topic_sla=_topic_slas(environ),
            fallback_channel=_channel(environ),
            capture=_choice(environ, "SWITCHBOARD_CAPTURE", ("review", "publish"), "review"),
            work_hours=_hours(environ),
            max_open=_count(environ, "SWITCHBOARD_MAX_OPEN", 3, 1, 100),
            daily_cap=_count(environ, "SWITCHBOARD_DAILY_CAP", 5, 1, 1000),
            admins=_user_ids(environ),
            admin_group=_group_id(environ),
            reverify_days=_count(environ, "SWITCHBOARD_REVERIFY_DAYS", 180, 1, 3650),
            late_answer_minutes=_minutes(environ, "SWITCHBOARD_LATE_ANSWER_MINUTES", 10.0),
            give_up_hours=_count(environ, "SWITCHBOARD_GIVE_UP_HOURS", 24, 1, 168),
        )

    def recovery_policy(self) -> RecoveryPolicy:
        """How questions left unanswered by a crash or a Slack outage are answered later."""
        late = timedelta(minutes=self.late_answer_minutes)
        give_up = timedelta(hours=self.give_up_hours)
        if late > give_up:
            raise SettingsError(
                f"SWITCHBOARD_LATE_ANSWER_MINUTES={self.late_answer_minutes:g} is longer than "
                f"SWITCHBOARD_GIVE_UP_HOURS={self.give_up_hours}: make it shorter.")
        return RecoveryPolicy(late_after=late, give_up_after=give_up)

    def routing_policy(self) -> RoutingPolicy | None:
        """How expert routing behaves, or None when SWITCHBOARD_ROUTING=off."""
        if not self.routing:
            return None
        rules = AvailabilityRules(work_start=self.work_hours[0], work_end=self.work_hours[1],
                                  max_open=self.max_open, daily_cap=self.daily_cap)
        return RoutingPolicy(route_to=self.route_to, sla_minutes=self.sla_minutes,
                             topic_sla=self.topic_sla, fallback_channel=self.fallback_channel,
                             publish_captured=self.capture == "publish", rules=rules)

    def slack_mode(self) -> str:
        """"socket" or "http", after checking the Slack settings the bot needs to start."""
        token = self.slack_bot_token
        if not token:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from your "
                "Slack app's OAuth & Permissions page."
            )
        if not token.startswith("xoxb-"):
            raise SettingsError(
                "SLACK_BOT_TOKEN is not a bot token: it must start with xoxb- (see OAuth & "
                "Permissions in your Slack app)."
            )
        if self.slack_app_token:
            if not self.slack_app_token.startswith("xapp-"):
                raise SettingsError(
                    "SLACK_APP_TOKEN is not an app-level token: it must start with xapp- (Basic "
                    "Information > App-Level Tokens, with the connections:write scope)."
                )
            return "socket"
        if not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it (Basic Information > App "
                "Credentials). Or set SLACK_APP_TOKEN to use Socket Mode instead."
            )
        return "http"


def _fraction(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number: use a confidence such as 0.7.") \
            from None
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name}={raw!r} is out of range: a confidence lies in 0..1.")
    return value


def _count(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise SettingsError(f"{name}={raw!r} is not a whole number from {low} to {high}.")
    return int(raw)


def _minutes(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 10_080:
        raise SettingsError(f"{name}={raw!r} is not a number of minutes (more than 0, at most "
                            "a week).")
    return value


def _topic_slas(environ: Mapping[str, str]) -> tuple[tuple[str, float], ...]:
    raw = environ.get("SWITCHBOARD_TOPIC_SLAS", "").strip()
    found: list[tuple[str, float]] = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        topic, _, minutes = part.partition("=")
        try:
            value = float(minutes)
        except ValueError:
            value = -1.0
        if not topic.strip() or not 0 < value <= 10_080:
            raise SettingsError(f"SWITCHBOARD_TOPIC_SLAS: {part!r} is not topic=minutes, e.g. "
                                "billing=30,security=5.")
        found.append((topic.strip().lower(), value))
    return tuple(found)


def _user_ids(environ: Mapping[str, str]) -> frozenset[str]:
    raw = environ.get("SWITCHBOARD_ADMINS", "")
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    for user in ids:
        if not (user[:1] in ("U", "W") and user.isalnum() and user.upper() == user):
            raise SettingsError(f"SWITCHBOARD_ADMINS: {user!r} is not a Slack user id: use ids "
                                "such as U0123ABC (profile > ⋮ > Copy member ID), "
                                "comma-separated.")
    return frozenset(ids)


def _group_id(environ: Mapping[str, str]) -> str | None:
    raw = environ.get("SWITCHBOARD_ADMIN_GROUP", "").strip()
    if not raw:
        return None
    if not (raw[:1] == "S" and raw.isalnum() and raw.upper() == raw):
        raise SettingsError(f"SWITCHBOARD_ADMIN_GROUP={raw!r} is not a user group id: use the "
                            "group's id (e.g. S0123ABC), not its @handle.")
    return raw


def _channel(environ: Mapping[str, str]) -> str | None:
    raw = environ.get("SWITCHBOARD_FALLBACK_CHANNEL", "").strip()
    if not raw:
        return None
    if raw[:1] not in ("C", "G") or not raw.isalnum() or raw.upper() != raw:
        raise SettingsError(f"SWITCHBOARD_FALLBACK_CHANNEL={raw!r} is not a channel id: use "
                            "the id (e.g. C0123ABC, from the channel's details), not its name.")
    return raw


def _hours(environ: Mapping[str, str]) -> tuple[int, int]:
    raw = environ.get("SWITCHBOARD_WORK_HOURS", "").strip() or "9-18"
    start, _, end = raw.partition("-")
    if not (start.isdigit() and end.isdigit() and 0 <= int(start) < int(end) <= 24):
        raise SettingsError(f"SWITCHBOARD_WORK_HOURS={raw!r} is not a local-time range such as "
                            "9-18.")
    return int(start), int(end)


def _log_level(environ: Mapping[str, str]) -> str:
    return _choice(environ, "SWITCHBOARD_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = environ.get(name, "").strip() or default
    for option in allowed:
        if raw.lower() == option.lower():
            return option
    raise SettingsError(f"{name}={raw!r} is not supported: use one of {', '.join(allowed)}.")


def _port(environ: Mapping[str, str]) -> int:
    raw = environ.get("PORT", "").strip() or "3000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"PORT={raw!r} is not a TCP port: use a number from 1 to 65535.")
    return int(raw)


def check_database_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(
            f"SWITCHBOARD_DATABASE_URL={redact_url(url)!r} is not a PostgreSQL URL: use "
            "postgresql://user:password@host:5432/dbname (leave it unset for SQLite in "
            "SWITCHBOARD_HOME)."
        )
    return url
