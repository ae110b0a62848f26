"""Screenshots of the sandbox for the README, made by driving a fresh sandbox in Chromium.

    HF_HUB_OFFLINE=1 python -m bench.sandbox_screenshots [--out docs]

* sandbox-answer.png: Maya asks a question the demo knowledge base knows in #support; the
  thread shows Switchboard's confident answer card.
* sandbox-expert.png: Maya asks one it lacks; Ravi, the expert asked, sees the request in his
  DM with Switchboard, with its Answer, Pass and Snooze buttons.

Both are 1400x900, from a fresh world in a temporary home (nothing is kept).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

from bench.common import onnx_embedder
from sandbox.app import serving
from sandbox.runner import DEMO, build_world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
WAIT = 30_000
TOUR = json.loads((DEMO / "tour.json").read_text())
KNOWN = next(s["suggest"] for s in TOUR if s.get("suggest") and "refund" in s["suggest"])
UNKNOWN = next(s["suggest"] for s in TOUR if s.get("suggest") and "LGPD" in s["suggest"])


def shown(text: str) -> str:
    """What the page shows of a typed question (the @mention is drawn as a name)."""
    return re.sub(r"^@Switchboard\s+", "", text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    home = Path(tempfile.mkdtemp(prefix="sandbox-shots-"))
    world = build_world(home, onnx_embedder(), scheduler=False)
    try:
        with serving(world) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            page.get_by_test_id("tour-close").click(timeout=WAIT)

            def act_as(user: str) -> None:
                page.get_by_test_id("person-switcher").select_option(user)
                expect(page.locator(f"[data-testid=person-item][data-id={user}].me")
                       ).to_be_visible(timeout=WAIT)

            def open_item(selector: str) -> None:
                page.locator(selector).click(timeout=WAIT)
                expect(page.locator(f"{selector}.active")).to_be_visible(timeout=WAIT)

            def ask(text: str) -> None:
                box = page.get_by_test_id("composer")
                box.fill(text)
                box.press("Enter")
                message = page.locator("#messages > [data-testid=message]").filter(
                    has_text=shown(text))
                message.get_by_test_id("thread-open").click(timeout=WAIT)
                expect(page.get_by_test_id("thread")).to_be_visible(timeout=WAIT)

            act_as("UMAYA")
            open_item("[data-testid=channel-item][data-id=CSUPPORT]")
            ask(KNOWN)
            card = page.locator("#thread-messages [data-testid=message][data-bot=true]").first
            expect(card).to_contain_text("Here's the answer", timeout=WAIT)
            page.mouse.move(0, 0)
            # the thread opens at its latest reply; show the card from its start
            page.locator("#thread-messages").evaluate("(list) => { list.scrollTop = 0; }")
            answer_png = args.out / "sandbox-answer.png"
            page.screenshot(path=str(answer_png))

            ask(UNKNOWN)
            replies = page.locator("#thread-messages [data-testid=message][data-bot=true]")
            expect(replies.first).to_contain_text(re.compile("couldn't find|not sure"),
                                                  timeout=WAIT)
            if "not sure" in replies.first.inner_text():  # a near miss: Maya asks for an expert
                replies.first.locator("[data-action-id=answer_ask_expert]").click(timeout=WAIT)
            expect(replies.filter(has_text="I've asked")).to_be_visible(timeout=WAIT)
            act_as("URAVI")
            open_item("[data-testid=channel-item][data-name=switchboard]")
            request = page.locator("#messages > [data-testid=message]").filter(
                has_text=shown(UNKNOWN))
            expect(request.locator("[data-action-id=expert_answer]")).to_be_visible(timeout=WAIT)
            page.mouse.move(0, 0)
            expert_png = args.out / "sandbox-expert.png"
            page.screenshot(path=str(expert_png))
            browser.close()
        if world.fake.violations:
            raise SystemExit(f"calls real Slack would reject: {world.fake.violations}")
        print(f"wrote {answer_png} and {expert_png}")
    finally:
        world.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
