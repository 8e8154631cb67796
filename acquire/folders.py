"""Output folders: a folder belongs to the command that made it.

`acquire run`, `train`, `compare` and `md` resume in their `--out` folder, so a folder written by
another command (or a file where a folder is wanted) is refused before any work starts: rerunning
into it would overwrite that command's results. Each such folder holds a marker, `MARKER`, naming
its command; folders made before the marker are recognised by what they hold (`_SIGNATURES`).
"""
from __future__ import annotations

import json
from pathlib import Path

from acquire.errors import AcquireError
from labelers.atomic_files import atomic_write_text

MARKER = ".acquire-folder.json"
OWNED = ("run", "train", "compare", "md")  # commands that resume in their folder and refuse another's
_SIGNATURES = {  # what a folder of each command holds at its top (for folders without the marker)
    "compare": ("splits",),  # checked first: a comparison also holds runs/ and report.md
    "train": ("stages",),
    "md": ("runs", "report.md"),
    "run": ("plan.json", "labels.db"),
}


def output_folder(path: str | Path, command: str, create: bool = True) -> Path:
    """`--out` of `command` as a folder that may be written: not a file, and for the commands in
    OWNED not a folder of another command; created (with its marker) when `create`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise AcquireError(f"--out {path} is a file; give a folder (acquire {command} writes several files into it)")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise AcquireError(f"--out {path}: {parent} is a file, not a folder")
    if command not in OWNED:
        if create:
            out.mkdir(parents=True, exist_ok=True)
        return out
    owner = folder_command(out)
    if owner is not None and owner != command:
        raise AcquireError(f"--out {path} holds the results of `acquire {owner}`; give acquire {command} another folder")
    if create:
        out.mkdir(parents=True, exist_ok=True)
        if not (out / MARKER).is_file():
            atomic_write_text(out / MARKER, json.dumps({"command": command}) + "\n")
    return out


def folder_command(out: Path) -> str | None:
    """The command whose results `out` holds (its marker, else what it holds), or None."""
    if not out.is_dir():
        return None
    marker = out / MARKER
    if marker.is_file():
        try:
            command = json.loads(marker.read_text()).get("command")
        except (ValueError, AttributeError, UnicodeDecodeError):
            raise AcquireError(f"{marker}: unreadable folder marker; remove it if the folder is yours") from None
        return str(command) if command else None
    for command, names in _SIGNATURES.items():
        if all((out / name).exists() for name in names):
            return command
    return None
