"""Output conventions shared by every subcommand: `--json` (exactly one JSON document on stdout)
and `--quiet` (no progress bars or logs); progress goes to stderr, and only to a terminal."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_output_arguments(parser: argparse.ArgumentParser, json_help: str = "print one JSON document instead of text") -> None:
    """`--json` and `--quiet` (alias `--no-progress`, the older name)."""
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                        help="no progress bars or logs on stderr")


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars and logs (stderr) only for a person watching: not with --json or --quiet,
    not when stderr is a file or a pipe."""
    return not (getattr(args, "json", False) or getattr(args, "quiet", False)) and sys.stderr.isatty()


def print_json(document: Any) -> None:
    """The command's one JSON document on stdout."""
    print(json.dumps(document, default=str))


PIPED_WIDTH = 250  # characters: a table piped to a file or a pager is not wrapped at 80 columns


def stdout_console() -> Any:
    """A rich Console on stdout for tables: the terminal's width, or PIPED_WIDTH when stdout is a
    file or a pipe (rich's fallback of 80 columns wrapped every wide table's cells)."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=PIPED_WIDTH)
