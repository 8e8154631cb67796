"""What a comparison compares (`CompareSettings`, every field checked when it is made) and the
embedded data sets it can name."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic.dataclasses import dataclass as pydantic_dataclass

from acquire.errors import AcquireError
from acquire.selection import Selection
from train.config import STRICT

FORMAT = "asteroid-ff/compare/1"
DATASETS = {"ethanol": ("md17:ethanol/ccsd(t)", "md17:ethanol/dft")}
Preset = Literal["quick", "paper", "tiny"]


class CompareError(AcquireError):
    """A comparison cannot be set up or resumed as asked."""


@pydantic_dataclass(frozen=True, config=STRICT)
class CompareSettings:
    """What to compare: label sources, budgets, ratios, seeds, methods, training preset and the
    training-config fields changed on it (`training`, as in `train.config.with_overrides`). Every
    field is checked here: a settings object that exists can be run (sources aside, which the run
    loads). A ratio "auto" is the labelers' cost ratio, pinned by the run in `OUT/ratio_auto.json`."""

    accurate: str
    inaccurate: str
    budgets: tuple[str, ...] = ("250ccsd",)
    ratios: tuple[float | Literal["auto"], ...] = (40.0,)
    seeds: int = 1
    preset: Preset = "quick"
    inaccurate_share: str | None = None  # None: the paper policy
    validation: int = 50
    test: int | None = None  # cap on test frames (None: every remaining accurate frame)
    gammas: tuple[float, ...] | None = None  # None: the preset's
    uniform_candidate: bool = False  # uniform weights (gamma = inf) is one more candidate for ASTEROID's validation
    ablations: bool = False
    unlabeled: bool = False
    threads: int = 1
    jobs: int = 1  # runs trained at once, each in its own process (results do not depend on it)
    progress: bool = True
    dataset: str | None = None
    command: str = ""
    pool: str | None = None  # geometries labelled by a computing `inaccurate` labeler into OUT/labels.db
    label_workers: int | None = None  # labeling processes for `pool` (None: one per core)
    selection: Selection = "random"  # which training frames the accurate budget buys first
    test_source: str | None = None  # held-out accurate labels (e.g. an independent trajectory) for testing
    training: dict[str, Any] | None = None  # training-config fields changed on the preset (seed, threads: the comparison's)
    extra_inaccurate: tuple[str, ...] = ()  # cheap labels of other molecules for ASTEROID's pretraining (not charged)
    energy_only: str | None = None  # accurate energy-only labels (SRC): not charged, or bought with energy_share
    energy_share: str | None = None  # budget spent on accurate energy-only labels (20%, 50ccsd; None: none)
    energy_ratio: float | None = None  # accurate force label cost / energy-only label cost (with energy_share)
    reuse: tuple[str, ...] = ()  # folders of earlier comparisons whose finished runs are copied where they fit

    def __post_init__(self) -> None:
        self._check_plan()
        self._check_counts()
        self._check_sources()
        if self.training:  # a bad field fails now, before anything is written (ConfigError)
            from train.config import preset, with_overrides

            with_overrides(preset(self.preset), self.training)

    def _check_plan(self) -> None:
        """Budgets in accurate labels, ratios > 1 (or auto), a readable share, positive gammas."""
        from budget import BudgetError

        try:  # a BudgetError is a ValueError, which pydantic would wrap
            self._check_budgets()
        except BudgetError as error:
            raise CompareError(str(error)) from None
        if self.gammas is not None and not (self.gammas and all(0 < g < math.inf for g in self.gammas)):
            raise CompareError(f"gammas (--gammas) must be positive kcal/mol/Å, got {self.gammas}")

    def _check_budgets(self) -> None:
        from budget import parse_budget, parse_share

        _distinct(self.budgets, "budget")
        _distinct(self.ratios, "ratio")
        if any(parse_budget(b).is_absolute for b in self.budgets):
            raise CompareError("give compare budgets in accurate labels (e.g. 250ccsd); convert CPU time with acquire plan")
        for ratio in self.ratios:
            if ratio != "auto" and not (math.isfinite(ratio) and ratio > 1):
                raise CompareError(f"cost ratio must be > 1 (accurate labels cost more), got {ratio:g}")
        if self.inaccurate_share is not None:
            parse_share(self.inaccurate_share)
        if self.energy_share is not None:
            parse_share(self.energy_share, "energy")
            if self.energy_ratio is None:
                raise CompareError("--energy-share needs --energy-ratio: the cost of an accurate force label ÷ an "
                                   "energy-only one (CCSD(T)/cc-pVDZ of ethanol: 576 s / 15.1 s = 38)")
        if self.energy_ratio is not None and not (self.energy_share is not None and math.isfinite(self.energy_ratio)
                                                  and self.energy_ratio > 1):
            raise CompareError(f"--energy-ratio goes with --energy-share and must be > 1, got {self.energy_ratio:g}")

    def _check_counts(self) -> None:
        for name in ("seeds", "threads", "jobs", "validation", "test", "label_workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                why = " (models are selected on it)" if name == "validation" else ""
                raise CompareError(f"{name} (--{OPTIONS.get(name, name)}) must be at least 1{why}, got {value}")

    def _check_sources(self) -> None:
        """Named sources, a known data set, a pool only for a computing labeler, folders to reuse."""
        for name in ("accurate", "inaccurate"):
            if not getattr(self, name).strip():
                raise CompareError(f"{name}: give a label source, got {getattr(self, name)!r}")
        if self.dataset is not None and self.dataset not in DATASETS:
            raise CompareError(f"unknown dataset {self.dataset!r}; data sets: {', '.join(DATASETS)}")
        if self.pool is not None and not _computes_labels(self.inaccurate):
            raise CompareError("--pool goes with a computing --inaccurate labeler (xtb:gfn2, openmm:gaff-2.11, pyscf:...)")
        for folder in self.reuse:
            if not (Path(folder) / "runs").is_dir():
                raise CompareError(f"--reuse {folder}: not a comparison's output folder (it has no runs/)")


OPTIONS = {"label_workers": "workers"}  # the command-line option of a field, where the names differ


def _distinct(values: tuple, what: str) -> None:
    if not values:
        raise CompareError(f"give at least one {what}")
    if len(set(values)) != len(values):
        raise CompareError(f"--{what}s lists a value twice: {','.join(map(str, values))}")


def _computes_labels(spec: str) -> bool:
    """Whether a SRC names a labeler that computes its labels (not a store's or a data set's)."""
    from acquire.sources import split_source
    from labelers.registry import get_labeler

    store, name = split_source(spec)
    if store is not None:
        return False
    try:
        return getattr(get_labeler(name), "data", None) is None
    except ValueError as error:  # pydantic would wrap it
        raise CompareError(str(error)) from None
