"""The label store's file: recognised as ours, checked for damage, and marked when created.

A store this project made holds ASE's tables and a marker table `acquire_store` (`format` =
`FORMAT`). Stores made before the marker existed are recognised by the project's own unique index on
`slot` and marked on their next write. Any other SQLite file (someone's own database, another ASE
database) is refused before anything is written to it. A damaged file is refused with a one-line
error that says how to recover what is readable. Inspection opens the file read-only: reading a
store (`acquire status`, `export`, `train`) never changes it.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal

from acquire.errors import StoreError

FORMAT = "asteroid-ff/labels/1"
MARKER = "acquire_store"
LEGACY_INDEX = "acquire_unique_slot"  # created by every store the project wrote before the marker
FULL_CHECK_BYTES = 64 * 2**20  # integrity_check (every index against its table) below this size, quick_check above
MARK = (f"CREATE TABLE IF NOT EXISTS {MARKER} (name TEXT PRIMARY KEY, value TEXT)",
        f"INSERT OR REPLACE INTO {MARKER} VALUES ('format', '{FORMAT}')")

FileState = Literal["absent", "empty", "ours", "legacy"]
_checked: dict[tuple[str, int, int], FileState] = {}  # files already checked in this process, by size and mtime


def damaged(path: Path, detail: str) -> StoreError:
    """The one-line error for a store SQLite cannot read, with the way to recover what is readable."""
    detail = " ".join(str(detail).split())[:200]
    return StoreError(f"label store {path} is damaged ({detail}); recover what is readable with "
                      f"`sqlite3 {path} .recover | sqlite3 recovered.db` and use --store recovered.db")


def read_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """SQLite's error on reading `path` as one line: damage with its recovery, anything else (a lock
    held too long, a full disk) as it is."""
    text = str(exc)
    if "not a database" in text:
        return StoreError(f"{path} is not a readable label store (file is not a database): another kind of file, "
                          "or one damaged past recovery")
    if isinstance(exc, sqlite3.OperationalError) and not any(w in text for w in ("malformed", "not a database")):
        return StoreError(f"label store {path}: {' '.join(text.split())}")
    return damaged(path, text)


def inspect(path: Path) -> FileState:
    """What the file at `path` is: absent, empty (0 bytes, e.g. left by an older run), ours, or
    ours from before the marker (legacy). Raises StoreError for a damaged or foreign file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "absent"
    if stat.st_size == 0:
        return "empty"
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _checked:
        _checked[key] = _inspect(path, stat.st_size)
    return _checked[key]


def _inspect(path: Path, size: int) -> FileState:
    if not os.access(path, os.R_OK):
        raise StoreError(f"label store {path} is not readable")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error as exc:
        raise read_error(path, exc) from None
    try:
        names = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
        check = "integrity_check" if size <= FULL_CHECK_BYTES else "quick_check"
        problems = [row[0] for row in con.execute(f"PRAGMA {check}(3)")]
        if problems != ["ok"]:
            raise damaged(path, f"{check}: {problems[0]}")
        if MARKER in names:
            found = con.execute(f"SELECT value FROM {MARKER} WHERE name = 'format'").fetchone()
            if found is None or found[0] != FORMAT:
                raise StoreError(f"{path} is a label store of another format ({found[0] if found else 'unknown'}); "
                                 f"this version reads {FORMAT}")
            return "ours"
    except sqlite3.DatabaseError as exc:
        raise read_error(path, exc) from None
    finally:
        con.close()
    if "systems" in names and LEGACY_INDEX in names:
        return "legacy"
    if not names:
        return "empty"
    raise StoreError(f"{path} is an SQLite file that acquire did not make (tables: {', '.join(sorted(names)[:5])}); "
                     "it is left untouched: give --store a new .db path")


def prepare(path: Path, con: sqlite3.Connection, initialize_ase: object, indexes: tuple[str, ...]) -> None:
    """Under the write lock: refuse a file another program filled since it was inspected, else
    create ASE's tables (`initialize_ase(con)`), the project's indexes and the marker."""
    names = {name for (name,) in con.execute("SELECT name FROM sqlite_master")}
    if names and MARKER not in names and LEGACY_INDEX not in names:
        raise StoreError(f"an SQLite file that acquire did not make appeared at {path} (tables: "
                         f"{', '.join(sorted(names)[:5])}); it is left untouched")
    initialize_ase(con)
    for statement in indexes + MARK:
        con.execute(statement)
