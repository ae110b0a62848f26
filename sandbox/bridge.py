"""What a person does on the sandbox's page, turned into what Slack would send the bot.

Every gesture becomes Slack's own payload (sandbox/slack_api/signing.py), signed with the
world's secret and POSTed to the bot's /slack/events, exactly as Slack would deliver it. A
person's own messages also go into the local Web API's history, as Slack stores them, so the
bot's conversations.replies and conversations.history see them.

The bridge also plays the parts of the Slack client that are not the Web API: it hands out
trigger_ids (remembering whose they are, so views.open/push land in that person's modal stack),
response_urls (`/hooks/<name>` on the local Web API, remembering who and where each is for, so
what the bot posts there shows as an ephemeral message to that person only), and it applies a
modal's `response_action` (errors, update, push, clear; an empty answer closes the view).
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.runner import SandboxWorld
from sandbox.slack_api import FakeSlack, signing, validate_view
from sandbox.slack_api.signing import Payload
from sandbox.slack_api.workspace import new_ts

ELEMENT_KEYS = ("elements", "accessory", "element")


class PageError(Exception):
    """Something the page asked that makes no sense (an unknown message, a closed modal)."""


@dataclass
class Ephemeral:
    """A message only `user` sees ("Only visible to you")."""

    id: str
    user: str
    channel: str
    thread_ts: str | None
    ts: str
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class Hook:
    """Whom and where a response_url is for (and which ephemeral message it may replace)."""

    user: str
    channel: str
    thread_ts: str | None = None
    ephemeral_id: str | None = None
    message_ts: str | None = None


@dataclass
class Bridge:
    """The page's side of Slack for one world."""

    world: SandboxWorld
    changes: int = 0  # bumped whenever the page changed something itself
    problems: list[str] = field(default_factory=list)  # the bot refused what "Slack" sent
    ephemerals: list[Ephemeral] = field(default_factory=list)
    _hooks: dict[str, Hook] = field(default_factory=dict)
    _seen_hooks: int = 0
    _seen_ephemeral: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def fake(self) -> FakeSlack:
        return self.world.fake

    # -- what "Slack" keeps for the page ------------------------------------------------------
    def version(self) -> tuple[int, ...]:
        """Changes whenever anything the page shows may have changed."""
        return (len(self.fake.calls), len(self.fake.hook_posts), len(self.fake.violations),
                self.changes, len(self.problems))

    def sync(self) -> None:
        """Take in what the bot posted since last time to chat.postEphemeral and response_urls."""
        with self._lock, self.fake.lock:
            for args in self.fake.ephemeral[self._seen_ephemeral:]:
                self._add_ephemeral(str(args.get("user")), str(args.get("channel")),
                                    args.get("thread_ts"), args)
            self._seen_ephemeral = len(self.fake.ephemeral)
            for name, body in self.fake.hook_posts[self._seen_hooks:]:
                self._hook_post(name, body)
            self._seen_hooks = len(self.fake.hook_posts)

    def _hook_post(self, name: str, body: dict[str, Any]) -> None:
        hook = self._hooks.get(name)
        if hook is None:
            self.problems.append(f"the bot posted to a response_url nobody was given ({name})")
            return
        mine = next((e for e in self.ephemerals if e.id == hook.ephemeral_id), None)
        if _true(body.get("delete_original")):
            if mine is not None:
                self.ephemerals.remove(mine)
            elif hook.message_ts:
                messages = self.fake.history.get(hook.channel, [])
                messages[:] = [m for m in messages if m.get("ts") != hook.message_ts]
        elif _true(body.get("replace_original")) and mine is not None:
            mine.text, mine.blocks = body.get("text") or "", body.get("blocks") or []
        elif _true(body.get("replace_original")) and hook.message_ts:
            message = self.fake.find_message(hook.channel, hook.message_ts)
            if message is not None:
                message.update(text=body.get("text") or "", blocks=body.get("blocks") or [])
        elif body.get("response_type") == "in_channel":
            self.fake.add_message(hook.channel, {
                "user": self.fake.bot_user_id, "bot_id": self.fake.bot_id,
                "text": body.get("text") or "", "blocks": body.get("blocks") or [],
                **({"thread_ts": hook.thread_ts} if hook.thread_ts else {})})
        else:
            self._add_ephemeral(hook.user, hook.channel, hook.thread_ts, body)

    def _add_ephemeral(self, user: str, channel: str, thread_ts: str | None,
                       body: dict[str, Any]) -> None:
        self.ephemerals.append(Ephemeral(f"E{next(self._ids)}", user, channel, thread_ts,
                                         new_ts(), body.get("text") or "",
                                         body.get("blocks") or []))

    def _hook(self, hook: Hook) -> str:
        name = f"h{next(self._ids)}-{secrets.token_hex(6)}"
        with self._lock:
            self._hooks[name] = hook
        return self.fake.response_url(name)

    def _trigger(self, user: str) -> str:
        trigger = signing.new_trigger_id()
        with self.fake.lock:
            self.fake.trigger_users[trigger] = user
        return trigger

    def changed(self) -> None:
        """Something the page shows changed outside the Web API (the clock, an ephemeral)."""
        with self._lock:
            self.changes += 1

    def _send(self, what: str, payload: Payload) -> bytes:
        """POST the signed payload to the bot; a refusal is shown on the page."""
        status, body = payload.post(self.world.bot_url, self.world.secret)
        if status != 200:
            with self._lock:
                self.problems.append(f"the bot answered HTTP {status} to {what}: "
                                     f"{body[:300].decode('utf-8', 'replace')}")
        return body

    # -- conversations --------------------------------------------------------------------------
    def channel_type(self, channel: str) -> str:
        if channel.startswith("D"):
            return "im"
        info = self.fake.channels.get(channel, {})
        return "group" if info.get("is_private") else "channel"

    def _channel_field(self, channel: str) -> dict[str, str]:
        kind = self.channel_type(channel)
        name = {"im": "directmessage", "group": "privategroup"}.get(kind)
        return {"id": channel, "name": name or self.fake.channels[channel].get("name", channel)}

    def message(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> None:
        """The person sends `text` (a `/ask …` command, or a message, maybe mentioning the bot)."""
        command = re.match(r"\s*(/[a-z_-]+)(?:\s+(.*))?\Z", text, re.DOTALL)
        if command:
            self._command(user, channel, command.group(1), (command.group(2) or "").strip(),
                          thread_ts)
            return
        text = self.slack_text(text)
        ts = new_ts()
        stored = {"user": user, "text": text, "ts": ts, "team": signing.TEAM_ID,
                  "blocks": signing.rich_text(text)}
        if thread_ts:
            stored["thread_ts"] = thread_ts
        with self.fake.lock:
            self.fake.add_message(channel, stored)
        self.changed()
        kind = self.channel_type(channel)
        if kind == "im":
            self._send("a DM", signing.message_im(text, user_id=user, channel_id=channel, ts=ts,
                                                   thread_ts=thread_ts))
            return
        if f"<@{self.fake.bot_user_id}>" in text:
            self._send("an app_mention", signing.app_mention(
                text, user_id=user, channel_id=channel, ts=ts, thread_ts=thread_ts,
                bot_user_id=self.fake.bot_user_id))
        self._send("a message", signing.channel_message(
            text, user_id=user, channel_id=channel, channel_type=kind, ts=ts,
            thread_ts=thread_ts))

    def _command(self, user: str, channel: str, command: str, text: str,
                 thread_ts: str | None) -> None:
        hook = self._hook(Hook(user, channel, thread_ts))
        payload = signing.slash_command(
            command, text, user_id=user, channel_id=channel,
            channel_name=self._channel_field(channel)["name"], trigger_id=self._trigger(user),
            response_url=hook)
        body = self._send(command, payload)
        try:
            answer = json.loads(body) if body.strip() else {}
        except ValueError:
            answer = {"text": body.decode("utf-8", "replace")}
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            with self._lock:
                self._add_ephemeral(user, channel, thread_ts, answer)
        self.changed()

    def slack_text(self, text: str) -> str:
        """What Slack stores for typed text: &, <, > escaped; @name and @Switchboard as <@U…>."""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        names = {"switchboard": self.fake.bot_user_id}
        for person in self.world.people:
            names[person.name.lower()] = person.id
            names[person.real_name.split()[0].lower()] = person.id

        def mention(match: re.Match[str]) -> str:
            user = names.get(match.group(1).lower())
            return f"<@{user}>" if user else match.group(0)
        return re.sub(r"@([A-Za-zÀ-ÿ]+)", mention, text)

    def _own(self, user: str, channel: str, ts: str) -> dict[str, Any]:
        message = self.fake.find_message(channel, ts)
        if message is None:
            raise PageError(f"no message {ts} in {channel}")
        if message.get("user") != user or message.get("bot_id"):
            raise PageError("only your own messages can be edited or deleted")
        return message

    def edit(self, user: str, channel: str, ts: str, text: str) -> None:
        text = self.slack_text(text)
        with self.fake.lock:
            message = self._own(user, channel, ts)
            previous = dict(message)
            message.update(text=text, blocks=signing.rich_text(text),
                           edited={"user": user, "ts": new_ts()})
            current = dict(message)
        self.changed()
        self._send("an edit", signing.message_changed(channel, current, previous,
                                                      channel_type=self.channel_type(channel)))

    def delete(self, user: str, channel: str, ts: str) -> None:
        with self.fake.lock:
            message = self._own(user, channel, ts)
            self.fake.history[channel].remove(message)
        self.changed()
        self._send("a deletion", signing.message_deleted(channel, message,
                                                         channel_type=self.channel_type(channel)))

    def shortcut(self, user: str, channel: str, ts: str, callback_id: str) -> None:
        """A message shortcut ("Ask Switchboard", "Save as answer") on the message at `ts`."""
        message = self.fake.find_message(channel, ts)
        if message is None:
            raise PageError(f"no message {ts} in {channel}")
        hook = self._hook(Hook(user, channel, message.get("thread_ts")))
        payload = signing.message_shortcut(callback_id, dict(message), channel_id=channel,
                                           user_id=user, trigger_id=self._trigger(user),
                                           response_url=hook)
        data = dict(payload.data)
        data["channel"] = self._channel_field(channel)
        self._send(f"the shortcut {callback_id}", signing.interaction(data))

    def account(self, user: str, left: bool) -> None:
        """An admin deactivates the person's Slack account (they left the company), or brings
        it back: Slack marks the user `deleted` and sends `user_change`, and routing stops (or
        starts again) suggesting them."""
        with self.fake.lock:
            person = self.fake.users.get(user)
            if person is None:
                raise PageError(f"no such person {user}")
            person["deleted"] = bool(left)
            after = json.loads(json.dumps(person))
        self.changed()
        self._send("the account change", signing.user_change(after))

    def open_home(self, user: str) -> None:
        """The person opened the bot's Home tab."""
        self._send("app_home_opened",
                   signing.app_home_opened(user, view=self.fake.home_views.get(user)))

    # -- interactivity -----------------------------------------------------------------------
    def action(self, user: str, where: dict[str, Any], block_index: int, action_id: str,
               chosen: dict[str, Any] | None = None,
               values: dict[str, Any] | None = None) -> None:
        """A click or a pick on an interactive element. `where` says on what: a channel
        message {"message": ts, "channel": C}, an ephemeral one {"ephemeral": id}, or a
        view {"view": id} (the Home tab or a modal, whose inputs' state is `values`)."""
        trigger = self._trigger(user)
        data: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "name": user.lower(),
                     "team_id": signing.TEAM_ID},
            "api_app_id": signing.APP_ID, "token": signing.VERIFICATION_TOKEN,
            "trigger_id": trigger, "team": {"id": signing.TEAM_ID, "domain": signing.DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False, "state": {"values": dict(values or {})}}
        if "view" in where:
            view = self.fake.views.get(str(where["view"]))
            if view is None:
                raise PageError("that view is gone")
            blocks = view.get("blocks") or []
            data["container"] = {"type": "view", "view_id": view["id"]}
            data["view"] = {**view, "state": {"values": dict(values or {})}}
        elif "ephemeral" in where:
            ephemeral = next((e for e in self.ephemerals if e.id == where["ephemeral"]), None)
            if ephemeral is None or ephemeral.user != user:
                raise PageError("that message is gone")
            blocks = ephemeral.blocks
            data["container"] = {"type": "message", "message_ts": ephemeral.ts,
                                 "channel_id": ephemeral.channel, "is_ephemeral": True}
            data["channel"] = self._channel_field(ephemeral.channel)
            data["response_url"] = self._hook(Hook(user, ephemeral.channel, ephemeral.thread_ts,
                                                   ephemeral_id=ephemeral.id))
        else:
            channel, ts = str(where["channel"]), str(where["message"])
            message = self.fake.find_message(channel, ts)
            if message is None:
                raise PageError("that message is gone")
            blocks = message.get("blocks") or []
            data["container"] = {"type": "message", "message_ts": ts, "channel_id": channel,
                                 "is_ephemeral": False}
            data["channel"] = self._channel_field(channel)
            data["message"] = dict(message)
            data["response_url"] = self._hook(Hook(user, channel, message.get("thread_ts"),
                                                   message_ts=ts))
        data["actions"] = [self._action(blocks, block_index, action_id, chosen or {})]
        self._send(f"a click on {action_id}", signing.interaction(data))

    @staticmethod
    def _action(blocks: list[dict[str, Any]], index: int, action_id: str,
                chosen: dict[str, Any]) -> dict[str, Any]:
        """The `actions[0]` Slack sends: the element as the bot built it, plus what was picked."""
        if not 0 <= index < len(blocks):
            raise PageError("that block is gone")
        block = blocks[index]
        element = next((e for e in _elements(block) if e.get("action_id") == action_id), None)
        if element is None:
            raise PageError(f"no element {action_id} in that block")
        action: dict[str, Any] = {"type": element.get("type"), "action_id": action_id,
                                  "block_id": block.get("block_id") or f"b{index}",
                                  "action_ts": new_ts()}
        for key in ("text", "value", "style", "url"):
            if key in element:
                action[key] = element[key]
        for key in ("selected_option", "selected_user", "selected_date", "selected_options"):
            if key in chosen:
                action[key] = chosen[key]
        return action

    def submit(self, user: str, view_id: str, values: dict[str, Any]) -> dict[str, str]:
        """Submit the person's top modal; returns the inline errors (empty: it went through)."""
        view = self._top(user, view_id)
        body = self._send(f"the modal {view.get('callback_id')}",
                          signing.view_interaction("view_submission", view, values,
                                                   user_id=user))
        try:
            answer = json.loads(body) if body.strip() else {}
        except ValueError:
            answer = {}
        action = answer.get("response_action") if isinstance(answer, dict) else None
        with self.fake.lock:
            stack = self.fake.modal_stacks.setdefault(user, [])
            if action == "errors":
                return {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
            if action in ("update", "push"):
                new_view = answer.get("view") or {}
                problems = validate_view(new_view)
                if problems:
                    self.fake.violations.extend(f"response_action {action}: {p}"
                                                for p in problems)
                elif action == "update":
                    self.fake.store_view(new_view, view_id)
                else:
                    pushed = self.fake.store_view(new_view)["view"]["id"]
                    self.fake.views[pushed].update(previous_view_id=view_id,
                                                   root_view_id=stack[0])
                    stack.append(pushed)
            elif action == "clear":
                stack.clear()
            elif stack and stack[-1] == view_id:
                stack.pop()
        self.changed()
        return {}

    def close(self, user: str, view_id: str, values: dict[str, Any]) -> None:
        """The person pressed the modal's Close (Cancel) button."""
        view = self._top(user, view_id)
        with self.fake.lock:
            stack = self.fake.modal_stacks.setdefault(user, [])
            if stack and stack[-1] == view_id:
                stack.pop()
        self.changed()
        if view.get("notify_on_close"):
            self._send("view_closed", signing.view_interaction("view_closed", view, values,
                                                               user_id=user))

    def _top(self, user: str, view_id: str) -> dict[str, Any]:
        with self.fake.lock:
            stack = self.fake.modal_stacks.get(user) or []
            if not stack or stack[-1] != view_id or view_id not in self.fake.views:
                raise PageError("that modal is no longer open")
            return dict(self.fake.views[view_id])


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in ELEMENT_KEYS:
        value = block.get(key)
        if isinstance(value, dict):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, dict))
    return found


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
