"""Shared by the test modules: the repository root, the environment of a CLI subprocess, and
`acquire(...)`, which runs the CLI as a user would (`python -m acquire ...`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1",  # this checkout first, then what the caller added
       "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}


def acquire(*args: str, cwd: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m acquire ARGS` in `cwd`; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", "acquire", *args], cwd=cwd, env=env or ENV,
                          capture_output=True, text=True, timeout=timeout)
