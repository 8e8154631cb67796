"""A rich progress bar for labeling runs: labels done, failed, CPU-core hours spent, ETA (stderr)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bar(title: str, total: int, disabled: bool = False) -> Iterator[Callable | None]:
    """Yields a hook `(report, eta_s) -> None` for `acquire.labeling.engine.label_frames`, or None if disabled."""
    if disabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("failed {task.fields[failed]}  {task.fields[cost]}  ETA {task.fields[eta]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(title, total=total, failed=0, cost="0.00 CPU-h", eta="-")

        def hook(report, eta_s: float) -> None:
            progress.update(task, completed=report.already_done + report.done + report.failed,
                            failed=report.failed, cost=f"{report.cost_s / 3600:.2f} CPU-h",
                            eta=_clock(eta_s) if eta_s else "-")

        yield hook


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
