"""`--ratio auto`: the accurate labeler's cost per label ÷ the inaccurate one's, from their declared
or calibrated costs, pinned in the comparison's folder (`OUT/ratio_auto.json`) when it is first
planned, so that a rerun resumes it after costs were re-declared or calibrated."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acquire.compare.report import read_document
from acquire.compare.settings import CompareError, CompareSettings
from acquire.sources import SourceArrays, split_source
from labelers.atomic_files import atomic_write_text

if TYPE_CHECKING:
    from labelers.costs import CostEstimate


def label_estimate(spec: str, numbers: np.ndarray, positions: np.ndarray) -> CostEstimate:
    """CPU-core seconds of one label of this geometry by `spec`, with its origin (declared law,
    calibrated, or scaled from a calibration)."""
    from ase import Atoms

    from acquire.plan_costs import estimate
    from labelers.registry import get_labeler

    return estimate(get_labeler(spec), Atoms(numbers=np.asarray(numbers).reshape(-1), positions=positions))


def label_cost(spec: str, numbers: np.ndarray, positions: np.ndarray) -> float:
    """Declared (or calibrated) CPU-core seconds of one label of this geometry by `spec`."""
    return label_estimate(spec, numbers, positions).seconds


def auto_ratio(accurate_spec: str, inaccurate_spec: str, numbers: np.ndarray, positions: np.ndarray) -> float:
    """`--ratio auto`: the accurate labeler's cost per label ÷ the inaccurate one's (must be > 1)."""
    accurate = label_cost(accurate_spec, numbers, positions)
    inaccurate = label_cost(inaccurate_spec, numbers, positions)
    ratio = accurate / inaccurate
    if not ratio > 1:
        raise CompareError(f"--ratio auto: {accurate_spec} costs {accurate:.4g} s and {inaccurate_spec} "
                           f"{inaccurate:.4g} s per label (ratio {ratio:.4g}); the accurate labeler must cost more")
    return ratio


AUTO_RATIO_FILE = "ratio_auto.json"


def pinned_ratio(out: Path, accurate_spec: str, inaccurate_spec: str) -> float | None:
    """The ratio `--ratio auto` gave when this comparison folder was first planned (so a rerun
    resumes it after costs were re-declared or calibrated), or None for a new folder. Folders made
    before the pin file existed: the ratio their metrics.json recorded for a `--ratio auto` command."""
    path = Path(out) / AUTO_RATIO_FILE
    if path.exists():
        pin = json.loads(path.read_text())
        same = (pin.get("accurate"), pin.get("inaccurate")) == (accurate_spec, inaccurate_spec)
        return float(pin["ratio"]) if same else None
    if not (Path(out) / "metrics.json").exists():
        return None
    document = read_document(out)
    settings = document.get("settings", {})
    specs = tuple(split_source(settings.get(k, ""))[1] for k in ("accurate", "inaccurate"))
    if "--ratio auto" in str(document.get("command", "")) and specs == (accurate_spec, inaccurate_spec) \
            and len(settings.get("ratios", [])) == 1:
        return float(settings["ratios"][0])
    return None


def pin_ratio(out: Path, accurate_spec: str, inaccurate_spec: str, ratio: float) -> None:
    """Record the ratio `--ratio auto` planned a new comparison folder with (`pinned_ratio`)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / AUTO_RATIO_FILE, json.dumps(
        {"accurate": accurate_spec, "inaccurate": inaccurate_spec, "ratio": ratio,
         "note": "--ratio auto of this folder, kept so that reruns resume it; delete to plan with today's costs"}) + "\n")


def resolved_ratios(settings: CompareSettings, out: Path, accurate: SourceArrays) -> CompareSettings:
    """`settings` with a ratio "auto" replaced by the ratio `out` was first planned with (a rerun
    resumes it whatever the costs say now), else by the labelers' cost per label of the accurate
    set's first geometry, accurate ÷ inaccurate, then pinned in `out`."""
    from dataclasses import replace

    if "auto" not in settings.ratios:
        return settings
    specs = split_source(settings.accurate)[1], split_source(settings.inaccurate)[1]
    ratio = pinned_ratio(out, *specs)
    if ratio is None:
        ratio = auto_ratio(*specs, accurate.numbers, accurate.positions[0])
        pin_ratio(out, *specs, ratio)
    return replace(settings, ratios=tuple(ratio if r == "auto" else r for r in settings.ratios))
