"""How long the sandbox takes from launch to its first answer, measured as a whole process.

    HF_HUB_OFFLINE=1 python -m bench.sandbox_startup [--runs 3]

Each run launches `switchboard sandbox --reset --port N` in a fresh SWITCHBOARD_HOME and times,
from the launch:
  (a) address: the "Switchboard sandbox: open http://…" line printed,
  (b) page:    GET / answering 200,
  (c) answer:  the tour's first question posted (as Maya in #support, right after (b)) and
               Switchboard's answer card in its thread, as seen through /api/state.
It then stops the process (SIGTERM) and starts it again on the same home without --reset (the
demo knowledge base is already imported and indexed): the same three times.

Baseline, measured in the same run: a fresh `python -c` that loads the model the way the CLI
does (index.embedder.load_embedder) and embeds one text, launch to exit. The sandbox's times
are also given as ratios to it: what the sandbox costs beyond loading the model at all.

Writes bench/out/sandbox_startup.json (medians and every run) and prints a small table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import MODEL_CACHE
from sandbox.runner import DEMO

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "sandbox_startup.json"
TIMEOUT = 120.0
POLL = 0.02
ADDRESS = re.compile(r"Switchboard sandbox: open (http://\S+)")
QUESTION = next(s["suggest"] for s in json.loads((DEMO / "tour.json").read_text())
                if s.get("suggest") and s["suggest"].startswith("@Switchboard"))
ASKER, CHANNEL = "UMAYA", "CSUPPORT"
BASELINE = ("import sys; from pathlib import Path; from index.embedder import load_embedder; "
            "load_embedder('onnx', Path(sys.argv[1])).embed(['How do I rotate an API key?'])")


def switchboard() -> str:
    beside = Path(sys.executable).with_name("switchboard")
    return str(beside) if beside.exists() else shutil.which("switchboard") or "switchboard"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLACK_") and k != "SWITCHBOARD_HOME"}
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", SWITCHBOARD_HOME=str(home),
               SWITCHBOARD_MODEL_CACHE=str(MODEL_CACHE))
    return env


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def until(what: str, check: Any, deadline: float) -> Any:
    while time.monotonic() < deadline:
        try:
            if found := check():
                return found
        except OSError:  # not listening yet
            pass
        time.sleep(POLL)
    raise TimeoutError(f"no {what} within {TIMEOUT:.0f} s")


def one_start(home: Path, reset: bool) -> dict[str, float]:
    """Launch the sandbox on `home`, time (a), (b), (c), then stop it."""
    port = free_port()
    command = [switchboard(), "sandbox", "--port", str(port), *(["--reset"] if reset else [])]
    started = time.monotonic()
    deadline = started + TIMEOUT
    process = subprocess.Popen(command, env=environment(home), cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    printed = threading.Event()
    lines: list[str] = []
    errors: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if ADDRESS.search(line):
                printed.set()

    def read_stderr() -> None:
        assert process.stderr is not None
        errors.extend(process.stderr)

    readers = [threading.Thread(target=read_stdout, daemon=True),
               threading.Thread(target=read_stderr, daemon=True)]
    for reader in readers:
        reader.start()
    try:
        if not printed.wait(TIMEOUT):
            raise TimeoutError(f"no address line; stderr: {''.join(errors)[-2000:]}")
        address = time.monotonic() - started
        url = ADDRESS.search("".join(lines)).group(1)  # type: ignore[union-attr]
        until("page", lambda: get(url + "/")[0] == 200, deadline)
        page = time.monotonic() - started
        post(url + "/api/message", {"user": ASKER, "channel": CHANNEL, "text": QUESTION})

        def answered() -> bool:
            _, body = get(f"{url}/api/state?user={ASKER}&conversation={CHANNEL}")
            messages = json.loads(body)["messages"]
            asked = {m["ts"] for m in messages if m["user"] == ASKER}
            return any(m["bot"] and m["blocks"] and m["thread_ts"] in asked for m in messages)

        until("answer", answered, deadline)
        answer = time.monotonic() - started
    finally:
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stopped = time.monotonic() - stopping
        for reader in readers:
            reader.join(5)
    if process.returncode not in (0, -signal.SIGTERM):
        raise RuntimeError(f"the sandbox exited with {process.returncode}: "
                           f"{''.join(errors)[-2000:]}")
    return {"address_s": address, "page_s": page, "answer_s": answer, "stop_s": stopped}


def baseline() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", BASELINE, str(MODEL_CACHE)], check=True, cwd=ROOT,
                   env=environment(Path(tempfile.gettempdir())), timeout=TIMEOUT)
    return time.monotonic() - started


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    fresh: list[dict[str, float]] = []
    again: list[dict[str, float]] = []
    base: list[float] = []
    for run in range(args.runs):  # interleaved, so a busy spell hits every kind alike
        base.append(baseline())
        home = Path(tempfile.mkdtemp(prefix="sandbox-startup-"))
        try:
            fresh.append(one_start(home, reset=True))
            again.append(one_start(home, reset=False))
        finally:
            shutil.rmtree(home, ignore_errors=True)
        print(f"run {run + 1}/{args.runs}: baseline {base[-1]:.2f} s, "
              f"fresh {fresh[-1]['answer_s']:.2f} s, again {again[-1]['answer_s']:.2f} s",
              flush=True)
    model = statistics.median(base)
    keys = ("address_s", "page_s", "answer_s", "stop_s")
    result = {
        "what": "switchboard sandbox, launch to (a) address printed, (b) page answering, "
                "(c) first answer in /api/state; seconds, medians",
        "runs": args.runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "question": QUESTION,
        "baseline_model_load_and_one_embedding_s": round(model, 3),
        "fresh_home": {k: round(median(fresh, k), 3) for k in keys},
        "existing_home": {k: round(median(again, k), 3) for k in keys},
        "ratio_to_baseline": {
            kind: {k: round(median(runs, k) / model, 2) for k in keys[:3]}
            for kind, runs in (("fresh_home", fresh), ("existing_home", again))},
        "every_run": {"baseline_s": [round(b, 3) for b in base],
                      "fresh_home": [{k: round(v, 3) for k, v in r.items()} for r in fresh],
                      "existing_home": [{k: round(v, 3) for k, v in r.items()} for r in again]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nmedian of {args.runs} runs, seconds from launch (× baseline {model:.2f} s: "
          f"a fresh python loading the model and embedding one text)")
    print(f"{'':16}{'address':>16}{'page':>16}{'first answer':>16}{'stop':>8}")
    for label, runs in (("fresh home", fresh), ("existing home", again)):
        cells = "".join(f"{median(runs, k):>8.2f} ×{median(runs, k) / model:<5.2f}"
                        for k in keys[:3])
        print(f"{label:16}{cells}{median(runs, 'stop_s'):>8.2f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
