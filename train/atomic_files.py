"""Files written whole or not at all (`labelers/atomic_files.py` has the same helper for `labelers` and
`acquire`: `train` may not import that package)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A fresh temporary path beside `path` (same suffix) to write to; it replaces `path` when the
    block ends without error, so that a kill never leaves half a file and two writers never share one."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result gets the mode a plain open() gives
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (threads may be creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def load_plain(path: str | Path, what: str, keys: tuple[str, ...] = ()) -> dict:
    """The dict in a torch file of tensors and plain values (`weights_only`: no code in it runs),
    holding `keys`; any file that is not one (damaged, foreign, holding objects) is a one-line
    CheckpointError naming the file (`what`: model file, stage checkpoint), never torch's advice to
    load it unsafely."""
    import torch

    from train.errors import CheckpointError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # a GPU run's file loads anywhere
    except Exception as error:  # noqa: BLE001 - damaged, truncated, foreign, or holding pickled objects
        blocked = "GLOBAL" in str(error)  # the unpickler met a class or function to import: refused, not run
        kind = "holds more than tensors and plain values (refused; nothing in it was run)" if blocked \
            else f"is damaged or not a torch file ({type(error).__name__})"
        raise CheckpointError(f"cannot read {what} {path}: it {kind}; delete it to recompute it") from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"cannot read {what} {path}: it lacks {', '.join(missing)}; delete it to recompute it")
    return state
