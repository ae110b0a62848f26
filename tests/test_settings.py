"""Settings: every variable parsed and validated, with one clear message per mistake."""

from __future__ import annotations

import pytest

from switchboard.settings import Settings, SettingsError


def test_routing_settings_become_a_policy() -> None:
    settings = Settings.from_env({
        "SWITCHBOARD_ROUTE_TO": "3", "SWITCHBOARD_SLA_MINUTES": "7.5",
        "SWITCHBOARD_TOPIC_SLAS": "Billing=30, security=5", "SWITCHBOARD_FALLBACK_CHANNEL":
        "C0123ABC", "SWITCHBOARD_CAPTURE": "publish", "SWITCHBOARD_WORK_HOURS": "8-17",
        "SWITCHBOARD_MAX_OPEN": "4", "SWITCHBOARD_DAILY_CAP": "9"})
    policy = settings.routing_policy()
    assert policy.route_to == 3 and policy.sla_minutes == 7.5
    assert policy.sla_for("billing") == 30 and policy.sla_for("other") == 7.5
    assert policy.fallback_channel == "C0123ABC" and policy.publish_captured
    assert (policy.rules.work_start, policy.rules.work_end) == (8, 17)
    assert policy.rules.max_open == 4 and policy.rules.daily_cap == 9
    assert Settings.from_env({"SWITCHBOARD_ROUTING": "off"}).routing_policy() is None
    defaults = Settings.from_env({}).routing_policy()
    assert defaults.route_to == 2 and defaults.sla_minutes == 15 and not defaults.publish_captured


@pytest.mark.parametrize(("name", "value", "says"), [
    ("SWITCHBOARD_ROUTE_TO", "0", "whole number from 1 to 10"),
    ("SWITCHBOARD_SLA_MINUTES", "soon", "number of minutes"),
    ("SWITCHBOARD_TOPIC_SLAS", "billing", "topic=minutes"),
    ("SWITCHBOARD_FALLBACK_CHANNEL", "#help", "not a channel id"),
    ("SWITCHBOARD_CAPTURE", "always", "use one of review, publish"),
    ("SWITCHBOARD_WORK_HOURS", "18-9", "local-time range"),
    ("SWITCHBOARD_LOG_FORMAT", "xml", "use one of json, text"),
    ("SWITCHBOARD_ROUTING", "maybe", "use one of on, off"),
    ("SWITCHBOARD_LATE_ANSWER_MINUTES", "later", "number of minutes"),
    ("SWITCHBOARD_GIVE_UP_HOURS", "0", "whole number from 1 to 168"),
    ("SWITCHBOARD_ANSWER_THRESHOLD", "1.2", "a confidence lies in 0..1"),
    ("SWITCHBOARD_SUGGEST_THRESHOLD", "most", "use a confidence such as 0.7"),
])
def test_bad_values_are_named(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: value})
    assert name in str(raised.value) and says in str(raised.value)


def test_recovery_ages_become_a_policy() -> None:
    from datetime import timedelta

    policy = Settings.from_env({"SWITCHBOARD_LATE_ANSWER_MINUTES": "5",
                                "SWITCHBOARD_GIVE_UP_HOURS": "6"}).recovery_policy()
    assert policy.late_after == timedelta(minutes=5)
    assert policy.give_up_after == timedelta(hours=6)
    defaults = Settings.from_env({}).recovery_policy()
    assert defaults.late_after == timedelta(minutes=10)
    assert defaults.give_up_after == timedelta(hours=24)
    with pytest.raises(SettingsError, match="SWITCHBOARD_LATE_ANSWER_MINUTES=180 is longer"):
        Settings.from_env({"SWITCHBOARD_LATE_ANSWER_MINUTES": "180",
                           "SWITCHBOARD_GIVE_UP_HOURS": "2"}).recovery_policy()
