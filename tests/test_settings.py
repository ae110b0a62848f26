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
])
def test_bad_values_are_named(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: value})
    assert name in str(raised.value) and says in str(raised.value)
