"""Every `acquire` command with `--json` prints exactly one JSON document on stdout (cheap inputs),
and `acquire --version` answers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import acquire

from acquire.cli.main import SUBCOMMANDS

ACC, DFT = "md17:ethanol/ccsd(t)", "md17:ethanol/dft"

# command -> its arguments (run in one shared folder, in this order: later commands read what earlier wrote)
COMMANDS: dict[str, list[str]] = {
    "plan": ["--budget", "250ccsd", "--ratio", "40"],
    "labelers": ["--molecule", "ethanol"],
    "calibrate": ["--molecule", "CCO", "--labeler", "xtb:gfn2", "--repeats", "1", "--table", "cal.json"],
    "sample": ["--molecule", "CCO", "--n", "2", "--equilibration", "0", "--interval", "1", "--out", "pool.extxyz"],
    "label": [DFT, "--labeler", DFT, "--n", "6", "--store", "l.db"],
    "status": ["--store", "l.db"],
    "export": ["--store", "l.db", "--labeler", DFT, "--out", "dft.extxyz"],
    "train": ["--accurate", ACC, "--train", "8", "--validation", "4", "--test", "4", "--method", "standard",
              "--preset", "tiny", "--out", "run"],
    "export-model": ["run", "--format", "torchscript", "--out", "model.pt"],
    "md": ["run", "--molecule", "ethanol", "--steps", "5", "--runs", "1", "--workers", "1", "--out", "md"],
    "scan": ["run", "xtb:gfn2", "--bond", "O-H", "--distances", "0.9:1.1:0.1", "--out", "scan"],
    "compare": ["--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "2", "--preset", "tiny",
                "--validation", "4", "--test", "8", "--out", "cmp"],
    "summarize": ["first=cmp", "again=cmp", "--out", "side"],
    "run": ["--molecule", "CCO", "--budget", "4ccsd", "--ratio", "2", "--accurate", "xtb:gfn2", "--inaccurate",
            "xtb:gfn1", "--inaccurate-share", "50%", "--validation", "1", "--method", "normal-modes",
            "--workers", "1", "--no-train", "--out", "runfolder"],
    "demo": ["--buy-only", "--budget", "60ccsd", "--ratio", "2", "--out", "demo"],
}


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) == set(SUBCOMMANDS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("json")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_json_output_is_one_document(folder: Path, command: str) -> None:
    done = acquire(command, *COMMANDS[command], "--json", cwd=folder, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)  # exactly one document: json.loads refuses anything around it
    assert isinstance(document, (dict, list)) and document
    assert "\x1b[" not in done.stderr  # no progress bar when stderr is not a terminal


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`acquire plan --json | head -c 1`: stdout closed early is exit 141 (as a shell reports SIGPIPE), no traceback."""
    import subprocess
    import sys

    from conftest import ENV

    process = subprocess.Popen([sys.executable, "-m", "acquire", "plan", *COMMANDS["plan"], "--json"], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    error = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and "Traceback" not in error, error


def test_version() -> None:
    done = acquire("--version", timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("acquire (asteroid-ff) ")


def test_compare_records_a_command_that_replays_its_options() -> None:
    """The `command` a comparison records parses back to the same options, a repeated option included."""
    import shlex

    from acquire.cli.compare import command_line
    from acquire.cli.main import build_parser

    argv = ["compare", "--dataset", "ethanol", "--budget", "100ccsd", "--ratio", "40", "--extra-inaccurate",
            "a.db:xtb:gfn2", "--extra-inaccurate", "b file.extxyz", "--ablations", "--out", "o u t"]
    parser = build_parser()
    args = parser.parse_args(argv)
    replayed = parser.parse_args(shlex.split(command_line(args))[1:])
    assert vars(replayed) == vars(args) and replayed.extra_inaccurate == ["a.db:xtb:gfn2", "b file.extxyz"]
