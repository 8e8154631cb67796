"""Time-to-accuracy curves of mace-torch's command line (`bench_peers.py --curve`).

A watched `mace_run_train` runs with `--keep_checkpoints`, which changes nothing in its training or
in the model it delivers: mace-torch writes a checkpoint (the EMA weights) at each epoch whose
validation loss is the lowest so far, and its final model is the last of them; the flag only
stops it deleting the earlier ones. So each checkpoint is the model the run would have delivered
had it stopped then. While it trains, the cumulative CPU seconds (user + system) of its process
tree are read the moment each checkpoint file appears. Afterwards, in an untimed pass, log-spaced
checkpoints are scored on the validation and test frames with the project's metric.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

CHECKPOINT = re.compile(r"_epoch-(\d+)\.pt$")  # mace-torch's checkpoint names: TAG_epoch-N.pt


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process `pid` and its descendants (None once it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    total = 0.0
    for process in processes:
        try:
            t = process.cpu_times()
        except psutil.NoSuchProcess:  # a descendant that ended between the listing and the read
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _new_checkpoints(folder: Path, seen: set[str]) -> list[tuple[int, str]]:
    """(epoch, file name) of the checkpoint files in `folder` not in `seen` (which they join)."""
    if not folder.is_dir():
        return []
    found = []
    for entry in os.scandir(folder):
        if entry.name not in seen and (match := CHECKPOINT.search(entry.name)):
            seen.add(entry.name)
            found.append((int(match.group(1)), entry.name))
    return sorted(found)


def run_watched(command: list[str], cwd: Path, env: dict[str, str], log: IO[str], checkpoints: Path,
                poll_s: float = 0.02) -> list[dict[str, Any]]:
    """Run `command` to its end; return {"epoch", "cpu_s", "file"} for each checkpoint it wrote to
    `checkpoints`, with the process tree's CPU seconds when the file appeared. Raises
    CalledProcessError when it fails. (A checkpoint seen only after the exit gets the exit's CPU.)"""
    import resource

    seen = {p.name for p in checkpoints.glob("*")} if checkpoints.is_dir() else set()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    rows: list[dict[str, Any]] = []
    last = 0.0
    while True:
        new = _new_checkpoints(checkpoints, seen)
        if new:
            cpu = tree_cpu_seconds(process.pid)  # a finished child is still readable until reaped
            last = max(last, cpu if cpu is not None else last)
            rows += [{"epoch": epoch, "cpu_s": last, "file": name} for epoch, name in new]
        if process.poll() is not None:
            break
        time.sleep(poll_s)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows += [{"epoch": epoch, "cpu_s": total, "file": name} for epoch, name in _new_checkpoints(checkpoints, seen)]
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return rows


def log_spaced(points: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    """The points (in CPU order) to score: each stage's first and last, and each whose `cpu_s` is at
    least `factor` times that of the point kept before it."""
    kept: list[dict[str, Any]] = []
    for i, point in enumerate(points):
        first = i == 0 or points[i - 1]["stage"] != point["stage"]
        last = i == len(points) - 1 or points[i + 1]["stage"] != point["stage"]
        if first or last or point["cpu_s"] >= factor * kept[-1]["cpu_s"]:
            if kept and not first and kept[-1]["stage"] == point["stage"] and kept[-1]["cpu_s"] >= point["cpu_s"]:
                kept.pop()  # seen in the same poll as the one kept before: the later epoch stands for both
            kept.append(point)
    return kept


def stage_points(stages: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Checkpoints of the runs of one recipe, on one CPU axis: a run's CPU seconds are counted
    after all of the runs before it (for a fine-tune, the pretraining's). `stages` holds
    (run name, stage label, the run's CPU record)."""
    points, offset = [], 0.0
    for name, stage, record in stages:
        for row in sorted(record["checkpoints"], key=lambda r: r["epoch"]):
            points.append({"stage": stage, "run": name, "epoch": row["epoch"], "cpu_s": offset + row["cpu_s"],
                           "file": row["file"]})
        offset += record["cpu_seconds"]
    return points


def checkpoint_model(model_file: Path, checkpoint: Path):
    """The model of a mace-torch checkpoint: the run's final model file (its architecture) with the
    checkpoint's weights."""
    import torch

    model = torch.load(model_file, map_location="cpu", weights_only=False)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
    model = copy.deepcopy(model)
    model.load_state_dict(state)
    return model


def curve_rows(work: Path, points: list[dict[str, Any]], score: Callable[[Any, Path], dict]) -> list[dict[str, Any]]:
    """Score each point's checkpoint on `work`/val.xyz and `work`/test.xyz (kcal/mol/Å, kcal/mol)."""
    rows = []
    for point in points:
        run = work / point["run"]
        model = checkpoint_model(run / "model" / f"{point['run']}.model", run / "checkpoints" / point["file"])
        val, test = score(model, work / "val.xyz"), score(model, work / "test.xyz")
        rows.append({"cpu_s": point["cpu_s"], "epoch": point["epoch"], "stage": point["stage"],
                     "val_force_mae": val["force_mae"], "test_force_mae": test["force_mae"],
                     "val_energy_mae": val["energy_mae"], "test_energy_mae": test["energy_mae"]})
    return rows


def curve_document(recipe: str, work: Path, stages: list[tuple[str, str, dict[str, Any]]], final: dict,
                   score: Callable[[Any, Path], dict], factor: float) -> dict[str, Any]:
    """The curve of one recipe: log-spaced rows, the settings and the machine's state while it trained.
    `final` is the recipe's normal result (its final model's test score), which the last row repeats."""
    from importlib.metadata import version

    rows = curve_rows(work, log_spaced(stage_points(stages), factor), score)
    records = [record for _, _, record in stages]
    return {"recipe": recipe, "rows": rows,
            "final": {"test_force_mae": final["force_mae"], "matches_last_row": rows[-1]["test_force_mae"] == final["force_mae"]},
            "settings": {"factor": factor, "cpu": "user + system seconds of the mace_run_train process trees",
                         "runs": [{"name": name, "stage": stage, "command": shlex.join(record.get("command", [])),
                                   "cpu_s": record["cpu_seconds"], "checkpoints": len(record["checkpoints"])}
                                  for name, stage, record in stages]},
            "threads": records[0]["threads"], "load_average": {"start": records[0].get("load_average_start"),
                                                                "end": records[-1].get("load_average_end")},
            "versions": {"mace-torch": version("mace-torch"), "torch": version("torch")}}


def write_curve(path: Path, document: dict[str, Any]) -> None:
    from labelers.atomic_files import atomic_write_text

    atomic_write_text(path, json.dumps(document, indent=1) + "\n")
