"""What the page shows one person: their conversations, the open one's messages and threads,
their ephemeral messages, Home tab and modal, the sandbox's clock and every error so far.

Read from the local Web API's workspace (what Slack would show them) and the bridge (the
ephemeral messages only they see); nothing here changes anything.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from knowledge.availability import AvailabilityRules
from sandbox.bridge import Bridge
from sandbox.runner import Person

HOME = "home"
RULES = AvailabilityRules()


def snapshot(bridge: Bridge, user: str, conversation: str) -> dict[str, Any]:
    """The page's state for `user` looking at `conversation` (a channel id, their DM or home)."""
    world, fake = bridge.world, bridge.fake
    bridge.sync()
    me = world.person(user)
    now = world.clock()
    with fake.lock:
        dm = fake.dm_channel(user)
        sidebar = [_channel(c.id, c.name, c.private, fake.history.get(c.id, []))
                   for c in world.channels if user in c.members]
        sidebar.append({"id": dm, "name": "Switchboard", "kind": "dm",
                        "latest": _latest(fake.history.get(dm, []))})
        visible = {c["id"] for c in sidebar}
        current = conversation if conversation in visible or conversation == HOME else dm
        messages = copy.deepcopy(fake.history.get(current, [])) if current != HOME else []
        home = copy.deepcopy(fake.home_views.get(user)) if current == HOME else None
        stack = list(fake.modal_stacks.get(user) or [])
        modal = copy.deepcopy(fake.views.get(stack[-1])) if stack else None
        violations = list(fake.violations)
        users = {u["id"]: u["real_name"] for u in fake.users.values()}
        left = {u["id"] for u in fake.users.values() if u.get("deleted")}
        channels = {c["id"]: c.get("name", c["id"]) for c in fake.channels.values()}
    with bridge._lock:
        ephemerals = [{"id": e.id, "ts": e.ts, "text": e.text, "blocks": e.blocks,
                       "thread_ts": e.thread_ts, "ephemeral": True, "user": fake.bot_user_id}
                      for e in bridge.ephemerals if e.user == user and e.channel == current]
        problems = [*violations, *bridge.problems]
    return {
        "version": list(bridge.version()),
        "now": now.isoformat(),
        # messages are stamped with real time (their Slack ts); shown on the sandbox's clock
        "clock_offset_s": (now - datetime.now(UTC)).total_seconds(),
        "company": world.company,
        "bot": {"id": fake.bot_user_id, "name": "Switchboard"},
        "me": _person(me, now, left),
        "people": [_person(p, now, left) for p in world.people],
        "users": users,
        "channels": channels,
        "sidebar": sidebar,
        "conversation": current,
        "messages": [_message(m, fake.bot_user_id) for m in messages],
        "ephemerals": ephemerals,
        "home": home,
        "modal": modal,
        "modal_depth": len(stack),
        "problems": problems,
    }


def _person(person: Person, now: datetime, left: set[str]) -> dict[str, Any]:
    local = now + timedelta(seconds=person.tz_offset)
    working = (local.weekday() in RULES.workdays
               and RULES.work_start <= local.hour < RULES.work_end)
    return {"id": person.id, "name": person.name, "real_name": person.real_name,
            "title": person.title, "role": person.role, "tz": person.tz,
            "local_time": local.strftime("%a %H:%M"), "working": working,
            "left": person.id in left}


def _channel(channel_id: str, name: str, private: bool,
             messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": channel_id, "name": name, "kind": "private" if private else "public",
            "latest": _latest(messages)}


def _latest(messages: list[dict[str, Any]]) -> str:
    return max((str(m.get("ts", "0")) for m in messages), key=float, default="0")


def _message(message: dict[str, Any], bot_user_id: str) -> dict[str, Any]:
    return {"ts": message.get("ts"), "user": message.get("user"),
            "bot": bool(message.get("bot_id")) or message.get("user") == bot_user_id,
            "text": message.get("text") or "", "blocks": message.get("blocks") or [],
            "thread_ts": message.get("thread_ts"), "edited": bool(message.get("edited")),
            "subtype": message.get("subtype")}
