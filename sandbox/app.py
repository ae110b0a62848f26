"""The sandbox's page: a Slack-like web app on 127.0.0.1 that drives the real bot.

Starlette served by uvicorn. The page (sandbox/static/, plain JS) reads `/api/state` for the
person it acts as, subscribes to `/api/events` (server-sent events: a new version whenever the
local Web API records a call or the page changes something) and posts what the person does to
`/api/...`, which the bridge turns into Slack's own signed payloads for the bot.

    GET  /                 the page          GET  /api/state?user=U…&conversation=C…|D…|home
    GET  /api/events       versions (SSE)    GET  /api/tour      the guided tour's steps
    POST /api/message      {user, channel, text, thread_ts?}    (text "/ask …": the command)
    POST /api/edit         {user, channel, ts, text}            POST /api/delete {user, channel, ts}
    POST /api/shortcut     {user, channel, ts, callback_id}     POST /api/home   {user}
    POST /api/action       {user, where, block_index, action_id, chosen?, values?}
    POST /api/view/submit  {user, view_id, values} -> {errors}  POST /api/view/close (same)
    POST /api/account      {user, left}  the account deactivated (left the company) or back
    POST /api/skip         15 minutes on, one scheduler pass    POST /api/reset  a new world
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sandbox.bridge import Bridge, PageError
from sandbox.runner import DEMO, SandboxWorld, build_world
from sandbox.state import snapshot

STATIC = Path(__file__).with_name("static")
SKIP_MINUTES = 15
POLL_SECONDS = 0.2
KEEP_ALIVE_POLLS = 75  # a comment every 15 s keeps proxies and the browser from giving up


class Sandbox:
    """The running world and its bridge; a reset swaps both for fresh ones."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world
        self.bridge = Bridge(world)
        self.generation = 0
        self.closing = threading.Event()
        self._lock = threading.Lock()

    def version(self) -> list[int]:
        return [self.generation, *self.bridge.version()]

    def reset(self) -> None:
        """Stop the world and start it again from scratch (its data only)."""
        with self._lock:
            old = self.world
            old.stop()
            self.world = build_world(old.home, old.search.embedder, reset=True,
                                     scheduler=old.scheduler is not None)
            self.bridge = Bridge(self.world)
            self.generation += 1


def create_app(world: SandboxWorld) -> Starlette:
    """The page and its API for `world` (`app.state.sandbox` holds the current world)."""
    sandbox = Sandbox(world)

    async def call(request: Request, action: Callable[[Bridge, dict[str, Any]], Any]) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("user"), str):
            return JSONResponse({"error": "say who acts: {\"user\": \"U…\"}"}, status_code=400)
        try:
            sandbox.world.person(body["user"])
            result = await run_in_threadpool(action, sandbox.bridge, body)
        except KeyError as missing:
            return JSONResponse({"error": f"missing or unknown {missing}"}, status_code=400)
        except PageError as error:
            return JSONResponse({"error": str(error)}, status_code=409)
        return JSONResponse(result if isinstance(result, dict) else {"ok": True})

    def post(action: Callable[[Bridge, dict[str, Any]], Any]) -> Callable:
        async def endpoint(request: Request) -> Response:
            return await call(request, action)
        return endpoint

    async def state(request: Request) -> Response:
        user = request.query_params.get("user") or sandbox.world.people[0].id
        conversation = request.query_params.get("conversation") or ""
        try:
            data = await run_in_threadpool(snapshot, sandbox.bridge, user, conversation)
        except KeyError:
            return JSONResponse({"error": f"no such person {user!r}"}, status_code=404)
        data["version"] = sandbox.version()
        return JSONResponse(data)

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            last, quiet = None, 0
            while not sandbox.closing.is_set() and not await request.is_disconnected():
                version = sandbox.version()
                if version != last:
                    last, quiet = version, 0
                    yield f"data: {json.dumps(version)}\n\n"
                elif (quiet := quiet + 1) >= KEEP_ALIVE_POLLS:
                    quiet = 0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(POLL_SECONDS)
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def tour(request: Request) -> Response:
        path = DEMO / "tour.json"
        return JSONResponse(json.loads(path.read_text()) if path.exists() else [])

    async def skip(request: Request) -> Response:
        now = await run_in_threadpool(sandbox.world.skip, SKIP_MINUTES)
        sandbox.bridge.changed()
        return JSONResponse({"now": now.isoformat()})

    async def reset(request: Request) -> Response:
        await run_in_threadpool(sandbox.reset)
        return JSONResponse({"ok": True})

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/api/tour", tour),
        Route("/api/message", post(lambda b, d: b.message(
            d["user"], d["channel"], str(d["text"]), d.get("thread_ts"))), methods=["POST"]),
        Route("/api/edit", post(lambda b, d: b.edit(
            d["user"], d["channel"], d["ts"], str(d["text"]))), methods=["POST"]),
        Route("/api/delete", post(lambda b, d: b.delete(
            d["user"], d["channel"], d["ts"])), methods=["POST"]),
        Route("/api/shortcut", post(lambda b, d: b.shortcut(
            d["user"], d["channel"], d["ts"], d["callback_id"])), methods=["POST"]),
        Route("/api/home", post(lambda b, d: b.open_home(d["user"])), methods=["POST"]),
        Route("/api/account", post(lambda b, d: b.account(d["user"], bool(d["left"]))),
              methods=["POST"]),
        Route("/api/action", post(lambda b, d: b.action(
            d["user"], d["where"], int(d["block_index"]), d["action_id"], d.get("chosen"),
            d.get("values"))), methods=["POST"]),
        Route("/api/view/submit", post(lambda b, d: {"errors": b.submit(
            d["user"], d["view_id"], d.get("values") or {})}), methods=["POST"]),
        Route("/api/view/close", post(lambda b, d: b.close(
            d["user"], d["view_id"], d.get("values") or {})), methods=["POST"]),
        Route("/api/skip", skip, methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app


class PageServer(uvicorn.Server):
    """uvicorn, telling `on_ready` the page's address once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None] | None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    @property
    def url(self) -> str:
        port = self.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_ready is not None:
            self.on_ready(self.url)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM stop the server and `serve` returns (uvicorn's own version raises
        the signal again afterwards, which would kill the process before the world is stopped)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.config.app.state.sandbox.closing.set()  # ends the event streams at once
        super().handle_exit(sig, frame)


def page_server(world: SandboxWorld, port: int,
                on_ready: Callable[[str], None] | None = None) -> PageServer:
    """A uvicorn server for the page on 127.0.0.1:`port` (0: any free port)."""
    config = uvicorn.Config(create_app(world), host="127.0.0.1", port=port, http="h11",
                            loop="asyncio", lifespan="off", log_config=None, access_log=False,
                            server_header=False, timeout_graceful_shutdown=2)
    return PageServer(config, on_ready)


@contextlib.contextmanager
def serving(world: SandboxWorld, ready_within: float = 30.0) -> Iterator[str]:
    """The page served on a free port from a background thread (tests, benchmarks); yields its
    address, and stops the server (not the world) at the end."""
    ready = threading.Event()
    urls: list[str] = []
    server = page_server(world, 0, lambda url: (urls.append(url), ready.set()))
    thread = threading.Thread(target=server.run, name="sandbox-page", daemon=True)
    thread.start()
    try:
        if not ready.wait(ready_within):
            raise RuntimeError("the sandbox's page never listened")
        yield urls[0]
    finally:
        server.config.app.state.sandbox.closing.set()  # ends the event streams at once
        server.should_exit = True
        thread.join(10)


def serve(world: SandboxWorld, port: int, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve the page until Ctrl-C or SIGTERM. `on_ready(url)` is called once it listens.

    A world started by the page's Reset is stopped here; the one passed in is the caller's."""
    server = page_server(world, port, on_ready)
    sandbox: Sandbox = server.config.app.state.sandbox
    try:
        server.run()
    finally:
        sandbox.closing.set()
        if sandbox.world is not world:
            sandbox.world.stop()
