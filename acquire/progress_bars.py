"""Progress bars on stderr (rich), one helper for every command: labeling runs, sampling,
calibration and MD studies. `train` has its own (`train.stage_progress`): it may not import `acquire`."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Update = Callable[..., None]  # update(completed=, advance=, total=, description=, note=)


@contextmanager
def bar(title: str, total: int | None, enabled: bool = True, transient: bool = False) -> Iterator[Update]:
    """A bar with a count, a free-text `note`, the elapsed time and an ETA; yields `update(**fields)` (rich's
    `Progress.update` fields plus `note`), a no-op when not `enabled`."""
    if not enabled:
        yield lambda **fields: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=transient) as progress:
        task = progress.add_task(title, total=total, note="")

        def update(**fields: Any) -> None:
            progress.update(task, **fields)

        yield update


@contextmanager
def progress_bar(title: str, total: int, disabled: bool = False) -> Iterator[Callable | None]:
    """Yields a hook `(report, eta_s) -> None` for `acquire.labeling.engine.label_frames` (labels done,
    failed, CPU-core hours spent, ETA), or None if disabled."""
    if disabled:
        yield None
        return
    with bar(title, total) as update:

        def hook(report, eta_s: float) -> None:
            update(completed=report.already_done + report.done + report.failed,
                   note=f"failed {report.failed}  {report.cost_s / 3600:.2f} CPU-h  ETA {clock(eta_s) if eta_s else '-'}")

        yield hook


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def log_lines(log: Callable[[str], None], what: str, step: float = 0.1) -> Callable[[int, int], None]:
    """A `(done, total)` progress hook that writes a log line at every `step` of the way (10 %) with
    the elapsed time and an ETA, for stderr that is a file (a batch job's log), where no bar is drawn."""
    import time

    began, shown = time.monotonic(), [-1]

    def hook(done: int, total: int) -> None:
        if total <= 0:
            return
        mark = int(done / total / step + 1e-9)
        if mark <= shown[0] and done < total:
            return
        shown[0] = mark
        elapsed = time.monotonic() - began
        eta = elapsed / done * (total - done) if done else 0.0
        log(f"{what}: {done} of {total} ({100 * done / total:.0f} %), {clock(elapsed)} elapsed, ETA {clock(eta)}")

    return hook
