"""Switchboard's entry point: `python app.py` runs the bot; `python app.py COMMAND` the CLI."""

from __future__ import annotations

import sys

from switchboard.cli import main

if __name__ == "__main__":
    main(args=sys.argv[1:] or ["run"])
