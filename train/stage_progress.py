"""Rich progress bars on stderr, one per training stage (silent when disabled)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def stage_progress(label: str, total: int, done: int, enabled: bool) -> Iterator[Callable[[int, dict], None]]:
    """Yield `advance(epoch, row)`; shows epochs done, the latest validation force MAE and an ETA."""
    if not enabled:
        yield lambda epoch, row: None
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(label, total=total, completed=done, info="")

        def advance(epoch: int, row: dict) -> None:
            info = f"loss {row['train_loss']:.4g}"
            if "val_force_mae" in row:
                info += f"  val F MAE {row['val_force_mae']:.3f} kcal/mol/Å"
            progress.update(task, completed=epoch, info=info)

        yield advance
