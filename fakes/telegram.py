"""A Bot-API-compatible server on 127.0.0.1 for end-to-end tests with the real python-telegram-bot client.

It answers getUpdates (offset + long poll), sendMessage, editMessageText and the other calls the bot makes,
records every call, and can be told to fail a method (429 with retry_after, 500, 403, 400) a number of times, or
every call to one chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field

from aiohttp import web

BOT_ID = 4242
BOT_USERNAME = "caucasus_brief_bot"
JSON_FIELDS = {"reply_markup", "commands", "allowed_updates", "scope", "reply_parameters", "link_preview_options"}


@dataclass
class Call:
    method: str
    params: dict
    token: str
    status: int = 200  # what the server answered: failed calls are kept, but not matched by default


DROP = 0  # a failure status meaning: close the connection without answering (a network error for the client)


@dataclass
class FakeTelegram:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    updates: list[dict] = field(default_factory=list)
    messages: dict[tuple[int, int], dict] = field(default_factory=dict)
    member_status: str = "member"
    members: dict[tuple[int, int], str] = field(default_factory=dict)  # (chat, user) → status, over member_status
    channels: dict[str, int] = field(default_factory=dict)  # "@name" → chat id
    bot_can_post: bool = True
    chat_failures: dict[int, tuple[int, dict]] = field(default_factory=dict)  # chat id → error for every call to it

    def __post_init__(self):
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._closing = False
        self.confirmed = 0  # updates below this id were confirmed by an offset
        self.hold_sends_after: int | None = None  # hold every sendMessage once this many succeeded (see `release`)
        self.held = 0
        self._release = asyncio.Event()
        self.replies: dict[int, Call] = {}  # message id → the bot's reply to it
        self._sent = asyncio.Condition()
        self.runner: web.AppRunner | None = None
        self.port = 0

    # -- server ---------------------------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return f"http://127.0.0.1:{self.port}/bot"

    def release(self) -> None:
        """Let held sendMessage requests through (those of a bot that died meanwhile are dropped) and hold no more."""
        self.hold_sends_after = None
        self._release.set()

    async def stop(self) -> None:
        self._closing = True
        self._release.set()
        self._new_update.set()  # release parked long polls
        if self.runner:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "sendMessage" and not await self._through_hold(request):
            return web.Response(status=499)
        params = dict(await request.post()) if request.can_read_body else {}
        if not params and request.content_type == "application/json":
            params = await request.json()
        for key, value in list(params.items()):
            if key in JSON_FIELDS and isinstance(value, str):
                params[key] = json.loads(value)
        call = Call(method, params, request.match_info["token"])
        self.calls.append(call)
        chat = str(params.get("chat_id", ""))
        failure = self.chat_failures.get(int(chat)) if chat.lstrip("-").isdigit() else None
        if self.failures.get(method) or failure:
            status, body = failure or self.failures[method].pop(0)
            call.status = status
            if status == DROP and request.transport is not None:  # the connection breaks: no answer at all
                request.transport.close()
                return web.Response(status=499)
            return web.json_response({"ok": False, "error_code": status, **body}, status=status)
        handler = getattr(self, f"_m_{method}", None)
        result = await handler(params) if handler else True
        return web.json_response({"ok": True, "result": result})

    async def _through_hold(self, request: web.Request) -> bool:
        """Once `hold_sends_after` sends succeeded, a sendMessage waits here unprocessed until `release`; False when
        its bot died meanwhile (the message was never sent)."""
        hold = self.hold_sends_after
        if hold is None or len(self.sent()) < hold:
            return True
        self.held += 1
        await self._release.wait()
        return request.transport is not None and not request.transport.is_closing()

    # -- methods --------------------------------------------------------------------------------------------------
    async def _m_getMe(self, params):  # noqa: N802
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Caucasus Brief",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params):  # noqa: N802
        # As Telegram: an offset confirms every earlier update, which is then gone for good (a bot that restarts
        # without an offset gets only the unconfirmed ones).
        self.confirmed = max(self.confirmed, int(params.get("offset", 0) or 0))
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + timeout
        while True:
            pending = [u for u in self.updates if u["update_id"] >= self.confirmed]
            if pending or self._closing or time.monotonic() >= deadline:
                return pending
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), max(0.01, deadline - time.monotonic()))

    async def _m_sendMessage(self, params):  # noqa: N802
        replied = (params.get("reply_parameters") or {}).get("message_id")
        if replied is not None:
            self.replies.setdefault(int(replied), self.calls[-1])
        async with self._sent:
            self._sent.notify_all()
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Caucasus Brief", "username": BOT_USERNAME},
            "text": params["text"],
        }
        if params.get("message_thread_id"):
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def _m_editMessageText(self, params):  # noqa: N802
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = dict(
            self.messages.get(
                key, {"message_id": key[1], "date": int(time.time()), "chat": {"id": key[0], "type": "private"}}
            )
        )
        message["text"] = params["text"]
        self.messages[key] = message
        return message

    async def _m_getChatMember(self, params):  # noqa: N802
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": user_id == BOT_ID, "first_name": "U"}
        status = self.members.get((chat_id, user_id), self.member_status)
        if status != "administrator":
            return {"status": status, "user": user}
        rights = (
            "can_be_edited",
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "is_anonymous",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
        )
        can_post = self.bot_can_post if user_id == BOT_ID else True
        return {"status": "administrator", "user": user, **dict.fromkeys(rights, False), "can_post_messages": can_post}

    async def _m_getChat(self, params):  # noqa: N802
        name = str(params["chat_id"])
        if name not in self.channels:
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
                content_type="application/json",
            )
        return {
            "id": self.channels[name],
            "type": "channel",
            "title": name[1:],
            "username": name[1:],
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # -- driving the bot ------------------------------------------------------------------------------------------
    def push(self, update: dict) -> dict:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._new_update.set()
        return update

    def redeliver(self, update: dict) -> None:
        """Send an update again, as Telegram does when the bot's confirmation of it was lost."""
        self.updates.append(update)
        self.confirmed = 0
        self._new_update.set()

    def message(
        self,
        text: str,
        chat_id: int = 111,
        user_id: int = 111,
        chat_type: str = "private",
        language_code: str = "en",
        reply_to: dict | None = None,
        thread_id: int | None = None,
        entities: list[dict] | None = None,
        edited: bool = False,
        **extra,
    ) -> dict:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, **({"title": "Group"} if chat_type != "private" else {})},
            "from": {"id": user_id, "is_bot": False, "first_name": "Reader", "language_code": language_code},
            **({"text": text} if text is not None else {}),
            **extra,
        }
        if text and text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if entities:
            message["entities"] = entities
        if reply_to:
            message["reply_to_message"] = reply_to
        if thread_id:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if edited:
            message["edit_date"] = int(time.time())
        return self.push({"edited_message" if edited else "message": message})

    def callback(self, data: str, message: dict, user_id: int = 111) -> dict:
        return self.push(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "chat_instance": "ci",
                    "data": data,
                    "message": message,
                    "from": {"id": user_id, "is_bot": False, "first_name": "Reader"},
                }
            }
        )

    def my_chat_member(
        self,
        chat_id: int,
        new_status: str,
        old_status: str = "member",
        chat_type: str = "private",
        user_id: int | None = None,
        can_post: bool = True,
    ) -> dict:
        """Telegram telling the bot its own membership of a chat changed: "kicked" when a user blocks it (and
        "member" when they unblock it), "left"/"member" when it is removed from or added to a group, "administrator"
        (with or without the right to post) in a channel."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Caucasus Brief", "username": BOT_USERNAME}

        def member(status: str) -> dict:
            fields: dict = {"status": status, "user": bot}
            if status == "kicked":
                fields["until_date"] = 0
            if status == "administrator":
                rights = [
                    *("can_be_edited", "can_manage_chat", "can_delete_messages", "can_manage_video_chats"),
                    *("can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users"),
                    *("is_anonymous", "can_post_stories", "can_edit_stories", "can_delete_stories"),
                ]
                fields.update(dict.fromkeys(rights, False), can_post_messages=can_post)
            return fields

        chat = {"id": chat_id, "type": chat_type, **({"title": "Chat"} if chat_type != "private" else {})}
        change = {
            "chat": chat,
            "from": {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "Reader"},
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(new_status),
        }
        return self.push({"my_chat_member": change})

    def sent(self, method: str = "sendMessage", chat_id: int | None = None, failed: bool = False) -> list[Call]:
        """Calls of `method` (to `chat_id`) that succeeded, or all of them with `failed`."""
        return [
            c
            for c in self.calls
            if c.method == method
            and (failed or c.status == 200)
            and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]

    async def wait_reply(self, message_id: int, timeout: float = 60.0) -> Call:
        """The bot's first message replying to `message_id` (cheap to wait on from many tasks at once)."""
        async with self._sent:
            await asyncio.wait_for(self._sent.wait_for(lambda: message_id in self.replies), timeout)
        return self.replies[message_id]

    async def wait_for(self, predicate, timeout: float = 30.0, method: str = "sendMessage") -> Call:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.calls:
                if call.method == method and call.status == 200 and predicate(call):
                    return call
            await asyncio.sleep(0.02)
        seen = [(c.method, str(c.params.get("text", ""))[:80]) for c in self.calls[-10:]]
        raise AssertionError(f"no {method} call matched within {timeout} s; last calls: {seen}")
