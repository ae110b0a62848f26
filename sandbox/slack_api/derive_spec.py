"""Derive ``methods.json`` (the fake's table of Slack Web API methods) from Slack's OpenAPI spec.

Run by hand, never by tests:

    cd /work/main && .venv/bin/python sandbox/slack_api/derive_spec.py

It reads ``../shared/slack/web-api-openapi.json`` (relative to the repo root; a Swagger 2.0
document whose ``paths`` look like ``/chat.postMessage``) and writes ``methods.json`` next to
this file.  The output is committed, so tests work on a clone where ``../shared`` is absent.

Output shape, one entry per method::

    {"chat.postMessage": {"http": ["POST"], "required": ["channel"],
                          "args": ["as_user", ...], "scopes": "chat:write", "token": true}}

``required`` and ``args`` exclude ``token``; ``token`` says whether the method takes one at
all (the spec's own ``required`` flag on ``token`` is inconsistent, e.g. ``chat.delete``);
``scopes`` is copied from the token description ("Requires scope: `chat:write`").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
DEFAULT_SPEC = REPO_ROOT.parent / "shared" / "slack" / "web-api-openapi.json"
DEFAULT_OUT = HERE / "methods.json"
ARG_LOCATIONS = frozenset({"header", "query", "formData"})
SCOPE_RE = re.compile(r"Requires scope:\s*(.+)$")


def _scopes(description: str) -> str:
    """Return the scope list from a token description, e.g. ``chat:write``."""
    match = SCOPE_RE.search(description)
    if match is None:
        return ""
    return ",".join(re.findall(r"`([^`]*)`", match.group(1)))


def derive(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Build the compact method table from a parsed Swagger 2.0 document."""
    table: dict[str, dict[str, Any]] = {}
    for path, operations in sorted(spec["paths"].items()):
        method = path.lstrip("/")
        verbs: list[str] = []
        required: list[str] = []
        args: list[str] = []
        scopes = ""
        takes_token = False
        for verb, operation in sorted(operations.items()):
            verbs.append(verb.upper())
            for param in operation.get("parameters", []):
                if param["in"] not in ARG_LOCATIONS:
                    raise ValueError(f"{method}: unexpected parameter location {param['in']!r}")
                name = param["name"]
                if name == "token":
                    takes_token = True
                    scopes = _scopes(param.get("description", ""))
                    continue
                if name not in args:
                    args.append(name)
                if param.get("required") and name not in required:
                    required.append(name)
        table[method] = {
            "http": verbs,
            "required": required,
            "args": sorted(args),
            "scopes": scopes,
            "token": takes_token,
        }
    return table


def render(table: dict[str, dict[str, Any]]) -> str:
    """Serialise the table with one method per line, so diffs stay readable."""
    lines = [f"{json.dumps(name)}: {json.dumps(entry, sort_keys=True)}"
             for name, entry in sorted(table.items())]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: read the spec, write the table, print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    options = parser.parse_args(argv)
    spec = json.loads(options.spec.read_text(encoding="utf-8"))
    table = derive(spec)
    options.out.write_text(render(table), encoding="utf-8")
    print(f"wrote {len(table)} methods to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
