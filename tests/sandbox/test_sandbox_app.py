"""The sandbox's page API against a real world: the real bot, the real model, the local Web API.

The page's server runs on uvicorn in a thread and is driven over real HTTP, as the browser
does; every test ends with no call real Slack would reject.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from index.expert_finder import ExpertFinder
from knowledge.expert_profiles import ExpertBook
from sandbox.app import serving
from sandbox.runner import SandboxWorld, build_world

MAYA, TOMAS = "UMAYA", "UTOMAS"
SUPPORT = "CSUPPORT"


class Page:
    """What the browser does: read /api/state, post to /api/..."""

    def __init__(self, url: str, world: SandboxWorld) -> None:
        self.url, self.world = url, world

    def post(self, path: str, **body: Any) -> dict[str, Any]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"},
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def state(self, user: str, conversation: str) -> dict[str, Any]:
        query = f"/api/state?user={user}&conversation={conversation}"
        with urllib.request.urlopen(self.url + query, timeout=10) as response:
            return json.loads(response.read())

    def wait(self, user: str, conversation: str, found: Callable[[dict[str, Any]], Any],
             timeout: float = 20.0) -> Any:
        """Poll the state until `found(state)` is truthy; returns what it returned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := found(self.state(user, conversation)):
                return result
            time.sleep(0.1)
        raise AssertionError(f"not seen within {timeout}s: {self.state(user, conversation)}")


@pytest.fixture(scope="module")
def page(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    world = build_world(tmp_path_factory.mktemp("sandbox"), embedder, scheduler=False)
    try:
        with serving(world) as url:
            yield Page(url, world)
    finally:
        world.stop()


@pytest.fixture(autouse=True)
def no_violations(page: Page) -> Iterator[None]:
    yield
    state = page.state(MAYA, SUPPORT)
    assert state["problems"] == []


def bot_reply(thread_ts: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: next((m for m in s["messages"]
                           if m["bot"] and m["thread_ts"] == thread_ts and m["blocks"]), None)


def test_a_question_in_a_channel_is_answered_in_its_thread(page: Page) -> None:
    page.post("/api/message", user=MAYA, channel=SUPPORT,
              text="@Switchboard can we refund an annual plan after 30 days?")
    asked = page.wait(MAYA, SUPPORT, lambda s: next(
        (m for m in s["messages"] if m["user"] == MAYA and "refund" in m["text"]), None))
    assert asked["text"].startswith("<@UBOT>")  # typed @Switchboard, stored as Slack does
    card = page.wait(MAYA, SUPPORT, bot_reply(asked["ts"]))
    assert "annual" in json.dumps(card["blocks"]).lower()
    assert page.world.fake.calls_to("chat.postMessage")


def test_a_click_on_the_card_reaches_the_bot(page: Page) -> None:
    page.post("/api/message", user=MAYA, channel=SUPPORT,
              text="@Switchboard how do I set up SCIM provisioning with Okta?")
    asked = page.wait(MAYA, SUPPORT, lambda s: next(
        (m for m in s["messages"] if "SCIM provisioning" in m["text"]), None))
    card = page.wait(MAYA, SUPPORT, bot_reply(asked["ts"]))
    index, button = next((i, e) for i, b in enumerate(card["blocks"]) if b["type"] == "actions"
                         for e in b["elements"] if e["action_id"] == "answer_solved")
    before = len(page.world.fake.calls_to("chat.update"))
    page.post("/api/action", user=MAYA, where={"channel": SUPPORT, "message": card["ts"]},
              block_index=index, action_id=button["action_id"])
    page.world.fake.wait_for("chat.update", before + 1, timeout=10)
    updated = page.wait(MAYA, SUPPORT, lambda s: next(
        (m for m in s["messages"] if m["ts"] == card["ts"] and m["edited"]), None))
    assert "answer_solved" not in json.dumps(updated["blocks"])


def test_the_home_tab_opens_a_modal_that_validates_and_submits(page: Page) -> None:
    page.post("/api/home", user=MAYA)
    home = page.wait(MAYA, "home", lambda s: s["home"])
    index = next(i for i, b in enumerate(home["blocks"])
                 if "home_ask" in json.dumps(b))
    page.post("/api/action", user=MAYA, where={"view": home["id"]}, block_index=index,
              action_id="home_ask", values={})
    modal = page.wait(MAYA, "home", lambda s: s["modal"])
    assert modal["callback_id"] == "ask_modal"
    assert page.state(TOMAS, "home")["modal"] is None  # only Maya's
    empty = {"ask_question": {"ask_question_text": {"type": "plain_text_input", "value": None}}}
    refused = page.post("/api/view/submit", user=MAYA, view_id=modal["id"], values=empty)
    assert refused["errors"] == {"ask_question": "Type a question first."}
    assert page.state(MAYA, "home")["modal"]["id"] == modal["id"]
    typed = {"ask_question": {"ask_question_text": {
        "type": "plain_text_input", "value": "How do I set up SAML single sign-on?"}}}
    assert page.post("/api/view/submit", user=MAYA, view_id=modal["id"],
                     values=typed)["errors"] == {}
    assert page.state(MAYA, "home")["modal"] is None
    dm = f"D{MAYA}"
    answer = page.wait(MAYA, dm, lambda s: next((m for m in s["messages"] if m["bot"]), None))
    assert "SAML" in json.dumps(answer["blocks"])


def test_ask_command_answers_privately(page: Page) -> None:
    page.post("/api/message", user=MAYA, channel=SUPPORT, text="/ask how do I rotate an API key?")
    ephemeral = page.wait(MAYA, SUPPORT, lambda s: next(
        (e for e in s["ephemerals"] if e["blocks"]), None))
    assert "API" in json.dumps(ephemeral["blocks"])
    assert page.state(TOMAS, SUPPORT)["ephemerals"] == []
    messages = page.state(MAYA, SUPPORT)["messages"]
    assert not any("/ask" in m["text"] for m in messages)  # a command is not a message


def test_a_person_who_leaves_is_no_longer_suggested_and_can_come_back(page: Page) -> None:
    """The page's "Leaves the company": Slack's user_change reaches the bot, which stops
    suggesting the person for what they answered; "Bring back" undoes it."""
    question = "A customer was charged twice for the same invoice, how do I refund one?"
    finder = ExpertFinder(page.world.search)
    assert TOMAS in [e.user for e in finder.rank(question, k=5).experts]
    page.post("/api/account", user=TOMAS, left=True)
    page.wait(MAYA, SUPPORT, lambda s: next(p for p in s["people"] if p["id"] == TOMAS)["left"])
    assert TOMAS in ExpertBook(page.world.store).departed()
    ranking = finder.rank(question, k=5)
    assert TOMAS not in [e.user for e in ranking.experts] and TOMAS in ranking.left
    page.post("/api/account", user=TOMAS, left=False)
    assert not next(p for p in page.state(TOMAS, SUPPORT)["people"] if p["id"] == TOMAS)["left"]
    assert TOMAS not in ExpertBook(page.world.store).departed()
    assert TOMAS in [e.user for e in finder.rank(question, k=5).experts]


def test_edit_and_delete_of_own_messages(page: Page) -> None:
    page.post("/api/message", user=MAYA, channel=SUPPORT, text="hello team")
    said = page.wait(MAYA, SUPPORT, lambda s: next(
        (m for m in s["messages"] if m["text"] == "hello team"), None))
    page.post("/api/edit", user=MAYA, channel=SUPPORT, ts=said["ts"], text="hello everyone")
    edited = page.state(MAYA, SUPPORT)["messages"]
    assert any(m["ts"] == said["ts"] and m["edited"] and m["text"] == "hello everyone"
               for m in edited)
    with pytest.raises(urllib.error.HTTPError) as refused:
        page.post("/api/delete", user=TOMAS, channel=SUPPORT, ts=said["ts"])
    assert refused.value.code == 409
    page.post("/api/delete", user=MAYA, channel=SUPPORT, ts=said["ts"])
    assert all(m["ts"] != said["ts"] for m in page.state(MAYA, SUPPORT)["messages"])


def test_skip_ahead_moves_the_clock(page: Page) -> None:
    before = page.world.clock()
    page.post("/api/skip", user=MAYA)
    assert (page.world.clock() - before).total_seconds() >= 15 * 60


def test_the_page_and_its_scripts_are_served(page: Page) -> None:
    for path in ("/", "/static/app.js", "/static/blockkit.js", "/static/style.css"):
        with urllib.request.urlopen(page.url + path, timeout=10) as response:
            assert response.status == 200
    with urllib.request.urlopen(page.url + "/", timeout=10) as response:
        html = response.read().decode()
    for testid in ("composer", "send", "person-switcher", "skip-ahead", "error-banner", "tour",
                   "thread"):
        assert f'data-testid="{testid}"' in html


def test_violations_reach_the_page(page: Page) -> None:
    fake = page.world.fake
    with fake.lock:
        fake.violations.append("chat.postMessage: provoked by a test")
    try:
        assert "chat.postMessage: provoked by a test" in page.state(MAYA, SUPPORT)["problems"]
    finally:
        assert fake.take_violations() == ["chat.postMessage: provoked by a test"]


def test_the_tour_is_served(page: Page) -> None:
    with urllib.request.urlopen(page.url + "/api/tour", timeout=10) as response:
        steps = json.loads(response.read())
    assert isinstance(steps, list)
    if steps:
        assert {"title", "body", "act_as"} <= set(steps[0])

