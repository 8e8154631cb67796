"""The README as a user meets it: short, free of history, every page it links present, and its
runnable blocks (a fenced block right after an `<!-- runnable ... -->` comment) run as written in an
empty folder (the quick start, then the library example that reads its label store)."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENV, ROOT, acquire

README = ROOT / "README.md"
RUNNABLE = re.compile(r"<!-- runnable[^>]*-->\s*\n```(\w+)[^\n]*\n(.*?)\n```", re.S)


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every block marked runnable, in the README's order."""
    return RUNNABLE.findall(text)


def test_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "dates belong in benchmarks/results/HISTORY.md"
    assert not re.search(r"\bsessions?\b", text, re.I)
    languages = [language for language, _ in runnable_blocks(text)]
    assert languages == ["bash", "python"]


def test_readme_links_resolve():
    text = README.read_text()
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert any(link.startswith("docs/") for link in links)
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing


def test_readme_command_table_matches_the_cli():
    commands = set(re.findall(r"^\| `acquire ([a-z-]+)` \|", README.read_text(), re.M))
    listed = acquire("--help").stdout
    known = set(re.findall(r"^    ([a-z][a-z-]+)\b", listed, re.M))
    assert commands and commands <= known
    assert known <= commands | {"help"}


def _shim(bin_dir: Path) -> None:
    """`acquire` on PATH runs this checkout's code with this interpreter, as an installed one would."""
    bin_dir.mkdir()
    script = bin_dir / "acquire"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m acquire "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_runnable_blocks_run_as_written(tmp_path):
    _shim(tmp_path / "bin")
    work = tmp_path / "work"
    work.mkdir()
    env = {**ENV, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{ENV.get('PATH', '')}",
           "ASTEROID_CALIBRATION": str(tmp_path / "calibration.json"),  # a fresh machine: declared costs
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for language, code in runnable_blocks(README.read_text()):
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=540)
        assert done.returncode == 0, f"{language} block failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    for made in ("pool.extxyz", "labels.db", "model/model.pt", "comparison/report.md", "md/report.md",
                 "water.pt", "lib-model/model.pt"):
        assert (work / made).is_file(), made


def test_user_guide_links_resolve():
    """Every relative link of every docs/ page (and of the history file) names a file that exists."""
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "results" / "HISTORY.md"]
    missing = [f"{page.name}: {link}" for page in pages
               for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text())
               if not (page.parent / link).exists()]
    assert not missing


def test_results_page_folders_exist():
    """Every result folder docs/results.md cites (`name_with_underscores/`) is under benchmarks/results/."""
    folders = set(re.findall(r"`([a-z0-9]+_[a-z0-9_.-]+)/`", (ROOT / "docs" / "results.md").read_text()))
    assert len(folders) > 10
    missing = sorted(f for f in folders if not (ROOT / "benchmarks" / "results" / f).is_dir())
    assert not missing
