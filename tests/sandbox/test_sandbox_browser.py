"""The sandbox's page in headless Chromium, through the whole loop of the guided tour.

A real world (the real bot, the session's real model, the local Web API) is served by
`sandbox.app` on a free port, and the page is driven the way a person would: typing in the
composer, clicking buttons, the ⋯ menu, modals, the person switcher, the Home tab, the clock.
Every wait is on a condition (generous timeouts for a loaded machine, no fixed sleeps). At the
end: no console errors, no page errors, no call real Slack would reject, and the error banner
was never shown.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from knowledge.expert_profiles import ExpertBook
from sandbox.app import serving
from sandbox.runner import DEMO, SandboxWorld, build_world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
WAIT = 20_000  # ms: generous, for a loaded 2-core machine; every wait ends as soon as it can
MAYA, RAVI, GRACE = "UMAYA", "URAVI", "UGRACE"
SUPPORT, HELP_DESK = "CSUPPORT", "CHELPDESK"
TOUR = json.loads((DEMO / "tour.json").read_text())


def suggested(fragment: str) -> str:
    """The tour's suggested text whose step mentions `fragment`."""
    return next(s["suggest"] for s in TOUR if s.get("suggest") and fragment in s["suggest"])


KNOWN = suggested("refund an annual plan")
UNKNOWN = suggested("LGPD")
RAVIS_ANSWER = suggested("no Brazilian data centre")
AGAIN = suggested("do we offer Brazilian")


@pytest.fixture(scope="module")
def world(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxWorld]:
    """A fresh sandbox world; the scheduler is off, so the clock only moves when skipped."""
    made = build_world(tmp_path_factory.mktemp("sandbox-browser"), embedder, scheduler=False)
    yield made
    made.stop()


@pytest.fixture(scope="module")
def url(world: SandboxWorld) -> Iterator[str]:
    with serving(world) as address:
        yield address


class Person:
    """What someone does on the page, in the page's own terms."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def act_as(self, user: str) -> None:
        self.page.get_by_test_id("person-switcher").select_option(user)
        expect(self.page.locator(f"[data-testid=person-item][data-id={user}].me")).to_be_visible(
            timeout=WAIT)

    def open(self, conversation: str) -> None:
        """A channel by id, "dm" for the Switchboard DM or "home" for the Home tab."""
        item = {"dm": "[data-testid=channel-item][data-name=switchboard]",
                "home": "[data-testid=home-tab]"}.get(
            conversation, f"[data-testid=channel-item][data-id={conversation}]")
        self.page.locator(item).click()
        expect(self.page.locator(f"{item}.active")).to_be_visible(timeout=WAIT)

    def send(self, text: str, in_thread: bool = False) -> None:
        box = self.page.get_by_test_id("thread-composer" if in_thread else "composer")
        box.fill(text)
        box.press("Enter")
        expect(box).to_have_value("", timeout=WAIT)

    def message(self, text: str) -> Locator:
        """The top-level message in the open conversation whose text has `text`."""
        return self.page.locator("#messages > [data-testid=message]").filter(has_text=text)

    def thread(self) -> Locator:
        return self.page.get_by_test_id("thread")

    def open_thread(self, question: str) -> Locator:
        message = self.message(question)
        message.get_by_test_id("thread-open").click(timeout=WAIT)
        pane = self.thread()
        expect(pane).to_be_visible(timeout=WAIT)
        expect(pane.locator("#thread-messages [data-testid=message]").first).to_contain_text(
            question_words(question), timeout=WAIT)
        return pane

    def ask(self, text: str, words: str) -> Locator:
        """Send `text` where we are, wait for the bot's reply thread under it and open it."""
        self.send(text)
        expect(self.message(words).get_by_test_id("thread-open")).to_be_visible(timeout=WAIT)
        return self.open_thread(words)

    def bot_replies(self) -> Locator:
        return self.thread().locator("#thread-messages [data-testid=message][data-bot=true]")

    def menu(self, message: Locator) -> None:
        """Open the message's ⋯ menu (its button shows while the pointer is over the message;
        a redraw under the pointer may hide it again, so hover and try again until it opens)."""
        expect(message).to_be_visible(timeout=WAIT)
        for _ in range(10):
            message.hover()
            try:
                message.get_by_test_id("message-menu").click(timeout=2_000)
            except PlaywrightTimeout:
                continue
            break
        expect(self.page.get_by_test_id("message-menu-popup")).to_be_visible(timeout=WAIT)

    def click(self, where: Locator, action_id: str) -> None:
        where.locator(f"[data-testid=block-button][data-action-id={action_id}]").first.click(
            timeout=WAIT)


def seen(messages: Locator) -> list[list[str]]:
    """Each message's timestamp and text, as drawn."""
    return messages.evaluate_all("nodes => nodes.map((n) => [n.dataset.ts, n.textContent])")


def question_words(text: str) -> str:
    """What the page shows of a typed question (the @mention is drawn as a name)."""
    return re.sub(r"^@Switchboard\s+", "", text)


def test_the_tour_end_to_end_in_chromium(world: SandboxWorld, url: str) -> None:
    problems: list[str] = []
    # the banner shows calls real Slack would reject: watch that it never appears
    with chromium_page(url, problems, console=True) as page:
        me = Person(page)
        expect(page.get_by_test_id("tour")).to_be_visible(timeout=WAIT)
        page.get_by_test_id("tour-close").click()
        expect(page.get_by_test_id("tour")).to_be_hidden()
        run_the_loop(me, world)
        expect(page.get_by_test_id("error-banner")).to_be_hidden()
        assert page.evaluate("() => sessionStorage.getItem('bannerShown')") is None
    assert problems == []
    assert world.fake.violations == []
    with urllib.request.urlopen(f"{url}/api/state?user={MAYA}", timeout=10) as response:
        assert json.loads(response.read())["problems"] == []


WATCH_BANNER = """document.addEventListener("DOMContentLoaded", () => {
  const banner = document.getElementById("banner");
  new MutationObserver(() => {
    if (!banner.classList.contains("hidden")) sessionStorage.setItem("bannerShown", "yes");
  }).observe(banner, {attributes: true});
});"""  # kept in sessionStorage, so the reload in the middle does not forget it


@contextlib.contextmanager
def chromium_page(url: str, problems: list[str], *, console: bool = False,
                  close_tour: bool = False) -> Iterator[Page]:
    """Headless Chromium on the sandbox page; page errors (and, with `console`, console errors)
    go to `problems`, and the error banner is watched (WATCH_BANNER)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            if console:
                page.on("console", lambda m: problems.append(f"console: {m.text}")
                        if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.add_init_script(WATCH_BANNER)
            page.goto(url)
            if close_tour and page.get_by_test_id("tour").is_visible():
                page.get_by_test_id("tour-close").click()
            yield page
        finally:
            browser.close()


def run_the_loop(me: Person, world: SandboxWorld) -> None:
    page = me.page
    me.act_as(MAYA)

    # 1. A known question in #support: a confident answer in its thread.
    me.open(SUPPORT)
    thread = me.ask(KNOWN, question_words(KNOWN))
    card = me.bot_replies().first
    expect(card).to_contain_text("Here's the answer from our knowledge base", timeout=WAIT)
    expect(card).to_contain_text("No cash refund after day 30")
    expect(card.locator("[data-action-id=answer_solved]")).to_be_visible()

    # 2. A follow-up by the asker in that thread gets a new answer.
    me.send("What about a monthly plan, can that be refunded?", in_thread=True)
    expect(thread.locator("[data-testid=message][data-user=UMAYA]").filter(
        has_text="monthly plan")).to_be_visible(timeout=WAIT)
    expect(me.bot_replies()).to_have_count(2, timeout=WAIT)
    page.get_by_test_id("thread-close").click()

    # 3. A shortcut: ⋯ → Ask Switchboard on a message; the answer comes by DM.
    me.send("Customer asks: how do I set up SCIM provisioning with Okta?")
    me.menu(me.message("SCIM provisioning with Okta"))
    page.get_by_test_id("shortcut-ask").click()
    me.open("dm")
    expect(me.message("SCIM").and_(
        page.locator("[data-bot=true]"))).to_be_visible(timeout=WAIT)

    # 4. A question nobody has written down: experts are asked.
    me.open(SUPPORT)
    thread = me.ask(UNKNOWN, question_words(UNKNOWN))
    first = me.bot_replies().first
    expect(first).to_contain_text(re.compile("couldn't find|not sure"), timeout=WAIT)
    if "not sure" in first.inner_text():
        # A near miss is shown as suggestions, and experts are asked only if Maya says so:
        # the card's own button does that.
        me.click(first, "answer_ask_expert")
    routed = thread.locator("[data-testid=message][data-bot=true]").filter(has_text="I've asked")
    expect(routed).to_contain_text("ravi", timeout=WAIT)

    # 5. A reload in the middle loses nothing: same person, conversation, thread and messages.
    channel = page.locator("#messages > [data-testid=message]")
    replies = me.thread().locator("[data-testid=message]")
    before, in_thread = seen(channel), seen(replies)
    page.reload()
    expect(page.get_by_test_id("conversation-name")).to_have_text("support", timeout=WAIT)
    expect(page.get_by_test_id("person-switcher")).to_have_value(MAYA)
    expect(me.thread()).to_be_visible(timeout=WAIT)
    expect(channel).to_have_count(len(before), timeout=WAIT)
    expect(replies).to_have_count(len(in_thread), timeout=WAIT)
    assert (seen(channel), seen(replies)) == (before, in_thread)

    # 6. The expert answers from the DM's Answer button, through the modal.
    me.act_as(RAVI)
    me.open("dm")
    request = me.message(question_words(UNKNOWN))
    expect(request).to_be_visible(timeout=WAIT)
    me.click(request, "expert_answer")
    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible(timeout=WAIT)
    modal.locator("textarea").fill(RAVIS_ANSWER)
    page.get_by_test_id("modal-submit").click()
    expect(modal).to_be_hidden(timeout=WAIT)

    # 7. Back as Maya: the answer is in her question's thread.
    me.act_as(MAYA)
    me.open(SUPPORT)
    thread = me.open_thread(question_words(UNKNOWN))
    expect(thread).to_contain_text("no Brazilian data centre", timeout=WAIT)

    # 8. The clock: another unknown question, left unanswered, climbs its ladder when skipped.
    thread = me.ask("@Switchboard Do we sign HIPAA BAAs for healthcare customers?",
                    "HIPAA BAAs")
    expect(thread).to_contain_text("I've asked", timeout=WAIT)
    clock = page.get_by_test_id("clock")
    shown = clock.inner_text()
    assert re.search(r"\d\d:\d\d UTC", shown), shown
    page.get_by_test_id("skip-ahead").click()
    expect(clock).not_to_have_text(shown, timeout=WAIT)
    expect(thread).to_contain_text("No answer yet", timeout=WAIT)
    page.get_by_test_id("skip-ahead").click()
    expect(thread).to_contain_text("posted your question in", timeout=WAIT)
    me.open(HELP_DESK)
    expect(me.message("Can anyone help")).to_be_visible(timeout=WAIT)

    # 9. The admin approves the captured answer in the review queue on Home.
    me.act_as(GRACE)
    me.open("home")
    home = page.get_by_test_id("home")
    expect(home).to_contain_text("Review queue", timeout=WAIT)
    expect(home).to_contain_text("Brazilian data centre", timeout=WAIT)
    approve = home.locator("[data-testid=block-button][data-action-id=admin_approve]")
    count = approve.count()
    assert count >= 1
    approve.first.click()
    if page.get_by_test_id("confirm").count():
        page.get_by_test_id("confirm-ok").click()
    expect(approve).to_have_count(count - 1, timeout=WAIT)

    # 10. Asked again in other words, the bot answers with Ravi's answer.
    me.act_as(MAYA)
    me.open(SUPPORT)
    thread = me.ask(AGAIN, question_words(AGAIN))
    card = me.bot_replies().first
    expect(card).to_contain_text("Here's the answer from our knowledge base", timeout=WAIT)
    expect(card).to_contain_text("no Brazilian data centre")
    expect(card).to_contain_text("Answered by ravi")


def test_a_related_answer_solves_it_and_the_admin_removes_the_wording(
        world: SandboxWorld, url: str) -> None:
    """The card's per-answer "This solved it" and the admin's phrasings modal, as drawn."""
    wording = "@Switchboard How do we set up SSO for a customer?"
    problems: list[str] = []
    with chromium_page(url, problems, close_tour=True) as page:
        me = Person(page)
        me.act_as(MAYA)
        me.open(SUPPORT)
        me.ask(wording, question_words(wording))
        card = me.bot_replies().first
        related = card.locator("[data-testid=block-button]"
                               "[data-action-id=answer_solved_this]")
        expect(related.first).to_be_visible(timeout=WAIT)
        assert related.count() >= 1
        related.first.click()
        expect(card).to_contain_text("Marked as solved by", timeout=WAIT)
        expect(card).to_contain_text(" with “")
        expect(related).to_have_count(0)
        question = "How do we set up SSO for a customer"
        [learned] = world.store.query(
            "SELECT entry_id, id FROM phrasings WHERE text LIKE ?", [f"%{question}%"])

        me.act_as(GRACE)
        me.open("home")
        me.click(page.get_by_test_id("home"), "admin_find")
        modal = page.get_by_test_id("modal")
        expect(modal).to_be_visible(timeout=WAIT)
        modal.locator("input[type=text]").fill(f"#{learned['entry_id']}")
        page.get_by_test_id("modal-submit").click()
        expect(modal).to_contain_text("Phrasings (1)", timeout=WAIT)
        me.click(modal, "admin_phrasings")
        expect(modal).to_contain_text(question, timeout=WAIT)
        me.click(modal, "admin_remove_phrasing")
        page.get_by_test_id("confirm-ok").click()
        expect(modal).to_contain_text("No phrasings yet", timeout=WAIT)
    assert problems == [] and world.fake.violations == []
    assert world.store.phrasings.get(learned["id"]).removed_by == GRACE


def test_a_person_leaves_the_company_and_comes_back(world: SandboxWorld, url: str) -> None:
    """The person card's toggle, as drawn: Slack's user_change reaches the bot both ways."""
    problems: list[str] = []
    with chromium_page(url, problems, close_tour=True) as page:
        me = Person(page)
        me.act_as(RAVI)
        toggle = page.get_by_test_id("account-toggle")
        expect(toggle).to_have_text("Leaves the company", timeout=WAIT)
        toggle.click()
        expect(page.get_by_test_id("availability")).to_contain_text("left the company",
                                                                   timeout=WAIT)
        ravi = page.locator(f"[data-testid=person-item][data-id={RAVI}]")
        expect(ravi).to_contain_text("(left)", timeout=WAIT)
        assert RAVI in ExpertBook(world.store).departed()
        toggle.click()
        expect(toggle).to_have_text("Leaves the company", timeout=WAIT)
        expect(ravi).not_to_contain_text("(left)", timeout=WAIT)
        assert RAVI not in ExpertBook(world.store).departed()
        assert page.evaluate("() => sessionStorage.getItem('bannerShown')") is None
    assert problems == []
