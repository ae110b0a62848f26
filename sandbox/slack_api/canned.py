"""Realistic canned answers of the fake Slack Web API, on top of ``workspace.Workspace``.

Handlers receive already-validated args (see server.py) and return a Slack response dict.
``{"ok": False, "error": ...}`` answers here are legitimate API outcomes the bot must cope with
(``user_not_found``, ``message_not_found``...), not violations; ``BadCall`` is raised for
arguments a correct client would never send (a forged cursor), which the server records.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from .workspace import Response, Workspace

HANDLED = (
    "auth.test", "team.info", "chat.postMessage", "chat.postEphemeral", "chat.update",
    "chat.delete", "chat.getPermalink", "conversations.open", "conversations.info",
    "conversations.history", "conversations.replies", "conversations.members", "users.info",
    "users.list", "dnd.info", "apps.connections.open",
    "usergroups.list", "usergroups.users.list", "views.open", "views.push", "views.update",
    "views.publish", "reactions.add",
)


DEFAULT_DND = {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1,
               "snooze_enabled": False}
VIEW_FIELDS = ("type", "title", "blocks", "close", "submit", "private_metadata", "callback_id",
               "external_id", "clear_on_close", "notify_on_close")


class BadCall(Exception):
    """An argument no correct client would send; the server records it as a violation."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


def _error(error: str) -> Response:
    return {"ok": False, "error": error}


def _truthy(value: Any) -> bool:
    return value in (True, 1) or str(value).lower() in ("true", "1")


def _ts_arg(args: Mapping[str, Any], key: str, default: float) -> float:
    try:
        return float(args.get(key) or default)
    except (TypeError, ValueError) as exc:
        detail = f"{key} must be a message timestamp, got {args.get(key)!r}"
        raise BadCall("invalid_ts", detail) from exc


def _page(items: list[Any], args: Mapping[str, Any], default: int = 100) -> tuple[list[Any], str]:
    """Cursor pagination as Slack does it: returns (page, next_cursor or "")."""
    try:
        limit = int(args.get("limit") or default)
    except (TypeError, ValueError) as exc:
        detail = f"limit must be an integer, got {args.get('limit')!r}"
        raise BadCall("invalid_limit", detail) from exc
    if limit < 1:
        raise BadCall("invalid_limit", f"limit must be positive, got {limit}")
    offset = 0
    if cursor := args.get("cursor"):
        forged = BadCall("invalid_cursor", f"cursor {cursor!r} was not issued by this server")
        try:
            prefix, _, number = base64.b64decode(str(cursor), validate=True).decode().partition(":")
            offset = int(number)
        except ValueError as exc:
            raise forged from exc
        if prefix != "next" or not 0 <= offset <= len(items):
            raise forged
    end = offset + min(limit, 1000)
    next_cursor = base64.b64encode(f"next:{end}".encode()).decode() if end < len(items) else ""
    return items[offset:end], next_cursor


class CannedSlack(Workspace):
    """A workspace that answers the Web API methods a Q&A bot uses (see ``HANDLED``)."""

    def handler(self, method: str) -> Callable[[dict[str, Any]], Response] | None:
        """The canned handler for ``method``, or None (the server then answers ``ok: true``)."""
        return getattr(self, "_h_" + method.replace(".", "_")) if method in HANDLED else None

    def _channel_id(self, channel: str) -> str:
        if channel[:1] in ("U", "W"):
            return self.dm_channel(channel)
        if channel.startswith("#"):
            found = [c for c in self.channels.values() if c.get("name") == channel[1:]]
            return found[0]["id"] if found else channel
        return channel

    def _is_own(self, message: Mapping[str, Any]) -> bool:
        return message.get("bot_id") == self.bot_id or message.get("user") == self.bot_user_id

    socket_url: str | None = None  # set to a FakeSocketMode's url for Socket Mode tests

    def _h_apps_connections_open(self, args: dict[str, Any]) -> Response:
        if not self.socket_url:
            return _error("not_allowed")
        return {"ok": True, "url": self.socket_url}

    def _h_auth_test(self, args: dict[str, Any]) -> Response:
        return {"ok": True, "url": f"https://{self.domain}.slack.com/", "team": "Example",
                "user": self.users[self.bot_user_id]["name"], "team_id": self.team_id,
                "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False}

    def _h_team_info(self, args: dict[str, Any]) -> Response:
        return {"ok": True, "team": {"id": self.team_id, "name": "Example", "domain": self.domain,
                                     "email_domain": "example.com",
                                     "icon": {"image_default": True}}}

    def _h_chat_postMessage(self, args: dict[str, Any]) -> Response:
        channel = self._channel_id(str(args["channel"]))
        if channel.startswith("#"):
            return _error("channel_not_found")
        message: dict[str, Any] = {
            "type": "message", "text": args.get("text") or "", "user": self.bot_user_id,
            "bot_id": self.bot_id, "app_id": self.app_id, "team": self.team_id,
            "ts": self.next_ts(), "bot_profile": {"id": self.bot_id, "app_id": self.app_id,
                                                  "name": "switchboard", "team_id": self.team_id}}
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if args.get(key):
                message[key] = args[key]
        self.history.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": dict(message)}

    def _h_chat_postEphemeral(self, args: dict[str, Any]) -> Response:
        ts = self.next_ts()
        self.ephemeral.append({**args, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _h_chat_update(self, args: dict[str, Any]) -> Response:
        channel = self._channel_id(str(args["channel"]))
        message = self.find_message(channel, str(args["ts"]))
        if message is None:
            return _error("message_not_found")
        if not self._is_own(message):
            return _error("cant_update_message")
        for key in ("text", "blocks", "attachments"):
            if key in args:
                message[key] = args[key]
        message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {"ok": True, "channel": channel, "ts": message["ts"],
                "text": message.get("text", ""), "message": dict(message)}

    def _h_chat_delete(self, args: dict[str, Any]) -> Response:
        channel = self._channel_id(str(args["channel"]))
        message = self.find_message(channel, str(args["ts"]))
        if message is None:
            return _error("message_not_found")
        if not self._is_own(message):
            return _error("cant_delete_message")
        self.history[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def _h_chat_getPermalink(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args["channel"]), str(args["message_ts"])
        link = f"https://{self.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        message = self.find_message(channel, ts)
        if message and message.get("thread_ts") not in (None, ts):
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _h_conversations_open(self, args: dict[str, Any]) -> Response:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": str(args["channel"])}}
        users = [u.strip() for u in str(args["users"]).split(",") if u.strip()]
        if len(users) == 1:
            already = users[0] in self.dm_channels
            channel: dict[str, Any] = {"id": self.dm_channel(users[0])}
            if _truthy(args.get("return_im")):
                channel.update(is_im=True, user=users[0], is_open=True, created=1_700_000_000)
            return {"ok": True, "no_op": already, "already_open": already, "channel": channel}
        mpim = self.dm_channels.setdefault(",".join(sorted(users)), f"GMPIM{next(self._ids)}")
        return {"ok": True, "channel": {"id": mpim}}

    def _h_conversations_info(self, args: dict[str, Any]) -> Response:
        channel_id = str(args["channel"])
        if channel_id in self.channels:
            return {"ok": True, "channel": dict(self.channels[channel_id])}
        dm_user = next((u for u, c in self.dm_channels.items() if c == channel_id), None)
        if channel_id[:1] == "D" and len(channel_id) > 1:
            info = {"id": channel_id, "is_im": True, "is_private": True, "is_channel": False,
                    "user": dm_user or channel_id[1:], "created": 1_700_000_000}
            return {"ok": True, "channel": info}
        if channel_id[:1] in ("C", "G") and channel_id.isalnum():
            channel = self.add_channel(channel_id, is_private=channel_id[0] == "G")
            return {"ok": True, "channel": channel}
        return _error("channel_not_found")

    def _h_conversations_history(self, args: dict[str, Any]) -> Response:
        messages = [m for m in self.history.get(str(args["channel"]), [])
                    if m.get("thread_ts") in (None, m.get("ts"))
                    or m.get("subtype") == "thread_broadcast"]
        inclusive = _truthy(args.get("inclusive"))
        oldest, latest = _ts_arg(args, "oldest", 0.0), _ts_arg(args, "latest", float("inf"))
        messages = [m for m in messages if (oldest <= float(m["ts"]) <= latest if inclusive
                                            else oldest < float(m["ts"]) < latest)]
        messages.sort(key=lambda m: float(m["ts"]), reverse=True)
        page, cursor = _page(messages, args)
        return {"ok": True, "messages": page, "has_more": bool(cursor), "pin_count": 0,
                "response_metadata": {"next_cursor": cursor}}

    def _h_conversations_replies(self, args: dict[str, Any]) -> Response:
        channel, ts = str(args["channel"]), str(args["ts"])
        parent = self.find_message(channel, ts)
        if parent is None and not any(m.get("thread_ts") == ts
                                      for m in self.history.get(channel, [])):
            return _error("thread_not_found")
        # People's messages reach the bot as events, not through this API, so the fake may
        # never have seen a thread's parent; its replies are listed all the same.
        parent = parent or {"ts": ts, "type": "message"}
        root = str(parent.get("thread_ts") or ts)
        replies = sorted((m for m in self.history.get(channel, [])
                          if m.get("thread_ts") == root and m.get("ts") != root),
                         key=lambda m: float(m["ts"]))
        head = self.find_message(channel, root) or parent
        head = {**head, "thread_ts": root, "reply_count": len(replies),
                "reply_users": sorted({str(m.get("user")) for m in replies}),
                "latest_reply": replies[-1]["ts"] if replies else root}
        page, cursor = _page([head, *replies], args, default=1000)
        return {"ok": True, "messages": page, "has_more": bool(cursor),
                "response_metadata": {"next_cursor": cursor}}

    def _h_conversations_members(self, args: dict[str, Any]) -> Response:
        """Members from the channel's ``members`` list (set with add_channel(members=[...]))."""
        channel = self.channels.get(self._channel_id(str(args["channel"])))
        if channel is None:
            return _error("channel_not_found")
        members, cursor = _page(list(channel.get("members", [])), args)
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": cursor}}

    def _h_users_info(self, args: dict[str, Any]) -> Response:
        user = self.users.get(str(args["user"]))
        return {"ok": True, "user": user} if user else _error("user_not_found")

    def _h_users_list(self, args: dict[str, Any]) -> Response:
        page, cursor = _page(list(self.users.values()), args, default=1000)
        return {"ok": True, "members": page, "cache_ts": 1_700_000_000,
                "response_metadata": {"next_cursor": cursor}}

    def _h_dnd_info(self, args: dict[str, Any]) -> Response:
        user = str(args.get("user") or self.bot_user_id)
        return {"ok": True, **DEFAULT_DND, **self.dnd.get(user, {})}

    def _h_usergroups_list(self, args: dict[str, Any]) -> Response:
        groups = [dict(g) for g in self.usergroups.values()
                  if _truthy(args.get("include_disabled")) or not g.get("date_delete")]
        if not _truthy(args.get("include_users")):
            for group in groups:
                group.pop("users", None)
        return {"ok": True, "usergroups": groups}

    def _h_usergroups_users_list(self, args: dict[str, Any]) -> Response:
        group = self.usergroups.get(str(args["usergroup"]))
        return {"ok": True, "users": list(group["users"])} if group else _error("no_such_subteam")

    def store_view(self, view: dict[str, Any], view_id: str | None = None) -> Response:
        """Store a view as Slack echoes it back (updates keep the id and the stack links)."""
        view_id = view_id or f"V{next(self._ids):08d}"
        current = self.views.get(view_id, {})
        stored = {"id": view_id, "team_id": self.team_id, "state": {"values": {}},
                  "hash": f"{self.next_ts()}.{view_id.lower()}",
                  "previous_view_id": current.get("previous_view_id"),
                  "root_view_id": current.get("root_view_id", view_id), "app_id": self.app_id,
                  "bot_id": self.bot_id, "app_installed_team_id": self.team_id,
                  "private_metadata": "", "callback_id": "", "external_id": "",
                  **{k: view[k] for k in VIEW_FIELDS if k in view}}
        self.views[view_id] = stored
        return {"ok": True, "view": dict(stored)}

    def _h_views_open(self, args: dict[str, Any]) -> Response:
        response = self.store_view(args["view"])
        if (user := self.trigger_users.get(str(args.get("trigger_id")))) is not None:
            self.modal_stacks[user] = [response["view"]["id"]]
        return response

    def _h_views_push(self, args: dict[str, Any]) -> Response:
        user = self.trigger_users.get(str(args.get("trigger_id")))
        stack = self.modal_stacks.get(user, []) if user is not None else []
        response = self.store_view(args["view"])
        if user is not None:
            view = self.views[response["view"]["id"]]
            if stack:
                view.update(previous_view_id=stack[-1], root_view_id=stack[0])
            self.modal_stacks[user] = [*stack, view["id"]]
            response = {"ok": True, "view": dict(view)}
        return response

    def _h_views_update(self, args: dict[str, Any]) -> Response:
        view_id = args.get("view_id")
        if not view_id:
            found = [v for v in self.views.values() if v.get("external_id") == args["external_id"]]
            if not found:
                return _error("not_found")
            view_id = found[0]["id"]
        current = self.views.get(str(view_id))
        if current and args.get("hash") and args["hash"] != current["hash"]:
            return _error("hash_conflict")
        return self.store_view(args["view"], str(view_id))

    def _h_views_publish(self, args: dict[str, Any]) -> Response:
        user_id = str(args["user_id"])
        if user_id[:1] not in ("U", "W"):
            return _error("user_not_found")
        current = self.home_views.get(user_id)
        response = self.store_view(args["view"], current["id"] if current else None)
        self.home_views[user_id] = response["view"]
        return response

    def _h_reactions_add(self, args: dict[str, Any]) -> Response:
        key = (str(args["channel"]), str(args["timestamp"]), str(args["name"]).strip(":"))
        if key in self.reactions:
            return _error("already_reacted")
        self.reactions.add(key)
        return {"ok": True}
