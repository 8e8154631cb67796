"""The trainer's library API: one call per (method, seed, split), writing a run directory.

    from dataclasses import replace
    from train import Frames, preset, run_standard, run_asteroid, run_score_matching
    cfg = preset("quick", seed=0)                      # or "paper"; "tiny" for tests
    std = run_standard(accurate_250, validation, test, cfg, "runs/std")
    ast = run_asteroid(accurate_200, dft_2000, validation, test, cfg, "runs/ast")
    ast.metrics["test"]["force_mae"]                   # kcal/mol/Å, mean over atoms and components
    naive = run_asteroid(..., replace(cfg, bias_weights=False), "runs/naive")   # pretrain + fine-tune
    no_ft = run_asteroid(..., replace(cfg, finetune=False), "runs/noft")        # no fine-tuning
    sweep = run_asteroid(..., replace(cfg, gammas=(0.1, 0.5, 1.0, 2.0)), "runs/g")

Inputs are `Frames` (numpy arrays, Å / eV / eV/Å); the caller splits the data. Outputs in
`out_dir`: model.pt (best model; `load_calculator(out_dir)`), metrics.json (validation and test
MAE in kcal/mol and kcal/mol/Å, chosen gamma, gamma search, bias statistics, seconds, config,
versions), log.csv (per-epoch rows of every stage), bias.png and bias.npy (ASTEROID), run.json
(method, config, data checksums), stages/ (one finished model per stage plus the resumable state
of the running one). Calling again with the same out_dir resumes: finished stages are loaded, a
killed stage continues from its state file; a different run in the same directory is refused.
Every preset bounds its stages by epochs, never by wall time: the same seed and thread count give
the same model on an idle or a busy machine.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from train.atomic_files import load_plain
from train.bias import absolute_gammas, bias_of, bias_weights, collapsed, effective_sample_size
from train.checkpoint import save_model, versions
from train.config import StageConfig, TrainConfig, with_model
from train.energy_only import finetune_loss
from train.errors import CheckpointError, DataError
from train.evaluate import evaluate, predict
from train.frames import Frames, training_molecule
from train.graph import composition_matrix, mean_neighbours, to_data_list
from train.loop import Monitor, fit
from train.losses import energy_only_loss
from train.models import Potential, build_model
from train.outputs import POOL_GEOMETRIES, UNITS, plot_bias, save_pool_geometries, write_json, write_log
from train.score import beta_of, score_matching_loss


@dataclass
class RunResult:
    """A finished run: its directory, metrics (as in metrics.json) and the selected model."""

    out_dir: Path
    metrics: dict
    model: Potential


def _model_for_data(config: TrainConfig, frames: dict[str, Frames | None]) -> TrainConfig:
    """MACE's data-dependent settings where the config leaves them open: the elements it one-hot
    encodes (those of all frames) and its message normalisation (mean neighbours, non-test frames)."""
    model = config.model
    if model.name != "mace":
        return config
    given = {name: f for name, f in frames.items() if f is not None}
    if not model.elements:
        elements = {int(z) for f in given.values() for z in np.unique(f.numbers)}
        config = with_model(config, elements=tuple(sorted(elements)))
    if model.neighbours <= 0:
        training = [f for name, f in given.items() if name != "test"]
        config = with_model(config, neighbours=mean_neighbours(training, model.cutoff))
    return config


class _Run:
    """Shared machinery of one run: thread/dtype settings, graph conversion, resumable stages."""

    def __init__(self, config: TrainConfig, out_dir: str | Path, monitor: Monitor | None = None) -> None:
        self.config = config
        self.monitor = monitor
        self.out_dir = Path(out_dir)
        (self.out_dir / "stages").mkdir(parents=True, exist_ok=True)
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[config.dtype]
        torch.set_num_threads(config.threads)
        self.histories: dict[str, list[dict]] = {}
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.began = time.monotonic()

    def claim(self, method: str, **frames: Frames | None) -> None:
        """Settle the data-dependent model settings (`_model_for_data`), then record what this run
        directory trains (method, config, data checksums); refuse to resume a different run."""
        import hashlib
        import json

        self.config = _model_for_data(self.config, frames)
        self.molecule = training_molecule({k: f for k, f in frames.items() if k != "test"})
        digest = {}
        for name, f in frames.items():
            if f is not None:
                h = hashlib.sha256(np.ascontiguousarray(f.positions).tobytes())
                for array in (f.energies, f.forces, f.weights):
                    if array is not None:
                        h.update(np.ascontiguousarray(array).tobytes())
                digest[name] = h.hexdigest()[:16]
        identity = {"method": method, "config": self.config.comparable(), "data": digest}
        path = self.out_dir / "run.json"
        if path.exists():
            stored = json.loads(path.read_text())
            if (stored.get("method"), stored.get("data")) != (method, digest) or not self.config.matches(stored.get("config", {})):
                raise CheckpointError(f"{self.out_dir} holds a different run (method, settings or data); "
                                      "use a new output directory")
        else:
            write_json(identity, path)

    def graphs(self, frames: Frames) -> list:
        return to_data_list(frames, self.config.model.cutoff, self.dtype)

    def fresh(self, tag: str) -> Potential:
        torch.manual_seed(self.config.seed_for(tag))
        return build_model(self.config.model).to(self.dtype)

    def stage(self, name: str, model: Potential, train: list, val: list | None, stage: StageConfig,
              loss_fn: Callable | None = None, val_loss_fn: Callable | None = None) -> Potential:
        """Train `model` for stage `name` (for `stage.epochs_for(len(train))` epochs), or load the
        stage's finished weights if present."""
        if stage.min_steps:
            stage = replace(stage, epochs=stage.epochs_for(len(train)))
        done = self.out_dir / "stages" / f"{name}.pt"
        if done.exists():
            saved = load_plain(done, "finished stage", ("state_dict",))
            try:
                model.load_state_dict(saved["state_dict"])
            except (RuntimeError, TypeError, AttributeError) as error:
                raise CheckpointError(f"cannot read finished stage {done}: its weights do not fit this model "
                                      f"({str(error).splitlines()[0][:120]}); delete it to retrain the stage") from None
        else:
            state = self.out_dir / "stages" / f"{name}.state.pt"
            result = fit(model, train, val, stage, self.config, state, name, loss_fn, val_loss_fn, self.monitor)
            saved = {"state_dict": model.state_dict(), "history": result.history, "seconds": result.seconds,
                     "cpu_seconds": result.cpu_seconds}
            torch.save(saved, done.with_suffix(".tmp"))
            done.with_suffix(".tmp").replace(done)
            state.unlink(missing_ok=True)
        self.histories[name] = saved["history"]
        self.seconds[name] = saved["seconds"]
        self.cpu_seconds[name] = saved.get("cpu_seconds", 0.0)
        return model

    def finish(self, method: str, model: Potential, validation: list, test: list | None,
               extra: dict, scored: dict[str, dict] | None = None) -> RunResult:
        """Score `model` on validation and test (`scored`: the splits already scored), write its
        model.pt, metrics.json and log.csv."""
        cfg = self.config
        metrics: dict = {"method": method, "units": UNITS}
        for split, graphs in (("validation", validation), ("test", test)):
            if graphs:
                metrics[split] = (scored or {}).get(split) or evaluate(
                    model, graphs, cfg.rho, cfg.loss, cfg.eval_batch_size, cfg.energy_per_atom)
        metrics.update(extra)
        metrics["stage_seconds"] = self.seconds
        metrics["seconds"] = sum(self.seconds.values())
        metrics["stage_cpu_seconds"] = self.cpu_seconds
        metrics["cpu_seconds"] = sum(self.cpu_seconds.values())
        metrics["config"] = cfg.to_dict()
        metrics["versions"] = versions()
        save_model(model, cfg.model, self.out_dir / "model.pt", metrics=_plain_metrics(metrics),
                   method=method, molecule=self.molecule)
        write_json(metrics, self.out_dir / "metrics.json")
        write_log(self.histories, self.out_dir / "log.csv")
        return RunResult(self.out_dir, metrics, model)


def _plain_metrics(metrics: dict) -> dict:
    keep = {}
    for split in ("validation", "test"):
        if split in metrics:
            keep[split] = {k: float(v) for k, v in metrics[split].items()}
    if metrics.get("gamma") is not None:
        keep["gamma"] = float(metrics["gamma"])
    return keep


def _check(frames: Frames | None, what: str, labelled: bool = True) -> None:
    if frames is None and what == "test":
        return
    if not isinstance(frames, Frames):
        raise DataError(f"{what}: expected train.Frames, got {type(frames).__name__}")
    if labelled and not frames.labelled:
        raise DataError(f"{what}: energies and forces are required")


def _align(model: Potential, frames: Frames | Sequence[Frames], graphs: list, fresh: bool,
           scale_forces: np.ndarray | None = None) -> None:
    """Fit per-element reference energies (and, for a fresh model, the scale: the RMS force of the
    frames that have forces, else of `scale_forces`) on `frames`: one set of frames, or several
    (molecules of one fidelity, or one molecule's force and energy-only labels), fitted jointly."""
    parts = pool_parts(frames)
    if fresh:
        given = [p.forces.reshape(-1) for p in parts if p.forces is not None]
        forces = np.concatenate(given) if given else np.asarray(scale_forces, dtype=float).reshape(-1)
        model.set_scale(float(np.sqrt(np.mean(forces**2))) or 1.0)
    starts = np.cumsum([0, *(len(p) for p in parts)])
    slices = [graphs[a:b] for a, b in zip(starts[:-1], starts[1:])]  # one part each: collated alike
    residual = np.concatenate([predict(model, part)[0] - model.reference(*_ref_args(part)).cpu().numpy()
                               for part in slices])
    composition = np.vstack([composition_matrix(p, model.ref.shape[0] - 1) for p in parts])
    model.fit_reference(composition, np.concatenate([p.energies for p in parts]) - residual)


def pool_parts(frames: Frames | Sequence[Frames]) -> list[Frames]:
    """An inaccurate pool as a list of Frames, one per molecule (a single Frames is one part)."""
    return [frames] if isinstance(frames, Frames) else list(frames)


def same_molecule(a: Frames, b: Frames) -> bool:
    """Whether two sets of frames hold the same molecule (the same atoms, in any order)."""
    return a.positions.shape[1] == b.positions.shape[1] and np.array_equal(
        np.sort(a.atom_numbers[0]), np.sort(b.atom_numbers[0]))


def formula(frames: Frames) -> str:
    """The chemical formula of the first frame's atoms, e.g. 'C2H6O'."""
    from ase.symbols import Symbols

    return Symbols(frames.atom_numbers[0]).get_chemical_formula()


def _check_elements(config: TrainConfig, frames: Sequence[Frames | None]) -> None:
    """Every element of the data must be one the model can encode (max_z; a MACE model's elements)."""
    present = sorted({int(z) for f in frames if f is not None for z in np.unique(f.atom_numbers)})
    model = config.model
    if present and present[-1] > model.max_z:
        raise DataError(f"the data hold element Z={present[-1]}, beyond the model's max_z {model.max_z}")
    missing = sorted(set(present) - set(model.elements)) if model.name == "mace" and model.elements else []
    if missing:
        raise DataError(f"the MACE model encodes elements {list(model.elements)} but the data also hold {missing}; "
                        "leave model.elements empty to take every element of the data")


def _ref_args(graphs: list):
    from train.graph import collate

    batch = collate(graphs)
    return batch.z, batch.batch, batch.num_graphs


def _counts(**frames: Frames | None) -> dict[str, int]:
    return {name: len(f) for name, f in frames.items() if f is not None}


def _energy_only(energy_only: Frames | None, like: Frames) -> Frames | None:
    """Accurate energy-only labels of `like`'s molecule, their forces (if any) dropped, or None."""
    if energy_only is None:
        return None
    if not (isinstance(energy_only, Frames) and energy_only.energies is not None and same_molecule(energy_only, like)):
        raise DataError("energy_only: expected Frames with energies of the accurate molecule")
    return replace(energy_only, forces=None)


@dataclass
class AccurateInputs:
    """What a stage on the accurate labels trains on: its training graphs, its loss (None: the
    plain force-and-energy loss), and the accurate sets with their graphs that reference energies
    are fitted on (force labels and energy-only labels alike)."""

    train: list
    loss: Callable | None
    sets: list[Frames]
    set_graphs: list


def accurate_inputs(run: _Run, accurate: Frames | None, energy_only: Frames | None, batch_size: int) -> AccurateInputs:
    """Force labels are the training set, and each step adds `energy_only_rho * L_E` on a batch of
    energy-only labels drawn beside it; without force labels the energy-only labels are the
    training set with the energy term alone (no force term for a frame without forces)."""
    force_graphs = run.graphs(accurate) if accurate is not None else []
    energy_graphs = run.graphs(energy_only) if energy_only is not None else []
    sets = [f for f in (accurate, energy_only) if f is not None]
    if accurate is None:
        rho, kind, per_atom = run.config.energy_only_rho, run.config.loss, run.config.energy_per_atom
        loss = lambda m, b: energy_only_loss(m, b, rho, kind, per_atom)  # noqa: E731
        return AccurateInputs(energy_graphs, loss, sets, energy_graphs)
    loss = finetune_loss(run.config, batch_size, energy_graphs) if energy_graphs else None
    return AccurateInputs(force_graphs, loss, sets, force_graphs + energy_graphs)


def run_standard(accurate: Frames | None, validation: Frames, test: Frames | None, config: TrainConfig,
                 out_dir: str | Path, energy_only: Frames | None = None, monitor: Monitor | None = None) -> RunResult:
    """Standard training on accurate labels only (the baseline), selected on `validation`: force
    labels (`accurate`), accurate energy-only labels (`energy_only`), or both. `monitor` sees every
    epoch of every stage trained (`train.loop.fit`)."""
    if accurate is None and energy_only is None:
        raise DataError("accurate: no force labels and no energy-only labels given")
    for frames, what in ((accurate, "accurate"), (validation, "validation"), (test, "test")):
        if frames is not None or what != "accurate":
            _check(frames, what)
    energy_only = _energy_only(energy_only, accurate if accurate is not None else validation)
    run = _Run(config, out_dir, monitor)
    run.claim("standard", accurate=accurate, validation=validation, test=test, energy_only=energy_only)
    inputs = accurate_inputs(run, accurate, energy_only, config.standard.batch_size)
    val = run.graphs(validation)
    model = run.fresh("standard")
    _align(model, inputs.sets, inputs.set_graphs, fresh=True, scale_forces=validation.forces)
    tag = "standard" if energy_only is None else ("standard_energies" if accurate is not None else "standard_energies_only")
    run.stage(tag, model, inputs.train, val, config.standard, inputs.loss)
    return run.finish("standard", model, val, run.graphs(test) if test is not None else None,
                      {"counts": _counts(accurate=accurate, validation=validation, test=test, energy_only=energy_only)})


def run_asteroid(accurate: Frames | None, inaccurate: Frames | Sequence[Frames], validation: Frames, test: Frames | None,
                 config: TrainConfig, out_dir: str | Path, energy_only: Frames | None = None,
                 monitor: Monitor | None = None) -> RunResult:
    """ASTEROID: bias identification, bias-aware training per gamma, fine-tuning, gamma selection
    (`monitor`: as in `run_standard`).

    `inaccurate` is one Frames, or several (one per molecule, one fidelity: pretraining across
    molecules, the paper's Table 5). The bias model, trained on the accurate molecule, weights the
    inaccurate frames of that molecule; frames of other molecules have no bias estimate and get
    the mean weight (1).

    Ablations through the config: `bias_weights=False` (uniform weights: plain pretrain then
    fine-tune, no bias model) and `finetune=False` (the bias-aware model, reference energies
    re-fitted on the accurate set, no fine-tuning). Beyond the paper (`train.energy_only`):
    `energy_only` (accurate energies without forces, of the accurate molecule) adds an energy term
    to the fine-tuning, or is its training set when `accurate` is None (no accurate force labels:
    uniform weights only, there is no bias model). Reference energies are fitted on every accurate energy.
    """
    parts = pool_parts(inaccurate)
    single = isinstance(inaccurate, Frames)
    molecule = _check_asteroid(accurate, parts, single, validation, test, energy_only, config)
    energy_only = _energy_only(energy_only, molecule)
    target = np.concatenate([np.full(len(p), same_molecule(p, molecule)) for p in parts])
    if config.bias_weights and not target.any():
        raise DataError(f"inaccurate: no frames of the accurate molecule {formula(accurate)}; the bias model "
                        "needs some (or train without bias weights)")
    run = _Run(config, out_dir, monitor)
    named = {"inaccurate" if k == 0 else f"inaccurate_{k}": p for k, p in enumerate(parts)}
    run.claim("asteroid", accurate=accurate, **named, validation=validation, test=test, energy_only=energy_only)
    val = run.graphs(validation)
    inputs = accurate_inputs(run, accurate, energy_only, config.finetune_stage.batch_size)
    train = inputs.train
    part_graphs = [run.graphs(p) for p in parts]
    pool = [g for graphs in part_graphs for g in graphs]
    extra: dict = {"counts": {**_counts(accurate=accurate, validation=validation, test=test, energy_only=energy_only),
                              "inaccurate": len(pool)}}
    if not single:
        extra["inaccurate_molecules"] = [{"formula": formula(p), "frames": len(p), "bias_weighted": bool(same_molecule(p, molecule))}
                                         for p in parts]
    if config.bias_weights:
        bias_model = run.fresh("bias")
        _align(bias_model, accurate, train, fresh=True)
        run.stage("bias", bias_model, train, val, config.bias)
        bias = np.concatenate([bias_of(bias_model, graphs, p.forces, config.eval_batch_size) if same_molecule(p, accurate)
                               else np.full(len(p), np.nan) for p, graphs in zip(parts, part_graphs)])
        known = bias[target]
        extra["bias"] = {"mean": known.mean(), "std": known.std(), "median": float(np.median(known)), "min": known.min(),
                         "max": known.max()}
    else:
        bias = np.zeros(len(pool))
    relative = config.weightings()
    gammas = absolute_gammas(relative, bias[target], config.relative_gammas and config.bias_weights)
    weights = {g: _weights(bias, target, g) for g in gammas}
    if config.bias_weights:
        np.save(run.out_dir / "bias.npy", bias)
        save_pool_geometries(parts, run.out_dir / POOL_GEOMETRIES)
        plot_bias(bias[target], {g: w[target] for g, w in weights.items()}, run.out_dir / "bias.png")
        _warn_collapsed(weights, len(train), extra["bias"])
    caller = np.concatenate([np.ones(len(p)) if p.weights is None else p.weights for p in parts])
    test_graphs = run.graphs(test) if test is not None else None
    search, best = [], None
    for gamma in gammas:
        tag = "uniform" if math.isinf(gamma) else f"g{gamma:g}"
        combined = weights[gamma] * caller
        combined = combined * (len(combined) / max(combined.sum(), 1e-300))  # caller's weights x bias weights, mean 1
        for data, w in zip(pool, combined):
            data.weight = torch.tensor([w], dtype=run.dtype)
        model = run.fresh("pretrain")
        _align(model, parts, pool, fresh=True)
        run.stage(f"pretrain_{tag}", model, pool, None, config.pretrain)
        _align(model, inputs.sets, inputs.set_graphs, fresh=False)
        if config.finetune:
            energies = energy_only is not None
            name = f"finetune{'_energies' if energies else ''}{'_only' if accurate is None else ''}_{tag}"
            run.stage(name, model, train, val, config.finetune_stage, inputs.loss)
        scored = {"validation": evaluate(model, val, config.rho, config.loss, config.eval_batch_size, config.energy_per_atom)}
        point = {"gamma": gamma, "ess": effective_sample_size(weights[gamma]), "frames": len(pool),
                 "collapsed": collapsed(effective_sample_size(weights[gamma]), len(train)),
                 **({"gamma_relative": relative[gammas.index(gamma)]} if config.relative_gammas else {}),
                 **{f"val_{k}": v for k, v in scored["validation"].items()}}
        if test_graphs and len(gammas) > 1:  # recorded to show what validation chose; never used to choose
            scored["test"] = evaluate(model, test_graphs, config.rho, config.loss, config.eval_batch_size, config.energy_per_atom)
            point.update({f"test_{k}": v for k, v in scored["test"].items()})
        search.append(point)
        if best is None or scored["validation"]["loss"] < best[0]:
            best = (scored["validation"]["loss"], gamma, model, scored)
    _, gamma, model, scored = best
    chosen = next(p for p in search if p["gamma"] == gamma)
    extra.update({"gamma": gamma, "gamma_search": search, "bias_weights": config.bias_weights,
                  "ess": chosen["ess"], "ess_collapsed": chosen["collapsed"],
                  "weights": "uniform" if math.isinf(gamma) else "bias",
                  "finetune": config.finetune})
    return run.finish("asteroid", model, val, test_graphs, extra, scored)


def _check_asteroid(accurate: Frames | None, parts: list[Frames], single: bool, validation: Frames,
                    test: Frames | None, energy_only: Frames | None, config: TrainConfig) -> Frames:
    """Refuse inputs ASTEROID cannot train on; returns the frames that name the accurate molecule."""
    if not parts:
        raise DataError("inaccurate: no frames given")
    if accurate is None and (energy_only is None or config.bias_weights):
        raise DataError("accurate: without force labels ASTEROID needs energy-only labels and uniform weights "
                        "(bias_weights false: the bias model needs forces)")
    for frames, what in ((accurate, "accurate"), (validation, "validation"), (test, "test"),
                         *((p, "inaccurate" if single else f"inaccurate[{k}]") for k, p in enumerate(parts))):
        if frames is not None or what != "accurate":
            _check(frames, what)
    _check_elements(config, [accurate, validation, test, *parts])
    return accurate if accurate is not None else validation


def _warn_collapsed(weights: dict[float, np.ndarray], accurate: int, bias: dict) -> None:
    """A warning on stderr, before any pretraining, for each gamma whose weights are worth fewer
    configurations than the accurate training set (`train.bias.collapsed`)."""
    import sys

    for gamma, w in weights.items():
        ess = effective_sample_size(w)
        if collapsed(ess, accurate):
            print(f"warning: ASTEROID gamma {gamma:.3g} kcal/mol/Å keeps an effective {ess:.1f} of {len(w)} cheap frames, "
                  f"fewer than the {accurate} accurate training labels: the bias weights have collapsed onto a few frames "
                  f"(bias B {bias['mean']:.2f} ± {bias['std']:.2f} kcal/mol/Å); larger gammas, or gammas relative to "
                  "the median B (acquire train --relative-gammas), keep more", file=sys.stderr)


def _weights(bias: np.ndarray, target: np.ndarray, gamma: float) -> np.ndarray:
    """Bias weights (mean 1) of the frames with a bias estimate (`target`); the others get 1."""
    weights = np.ones(len(bias))
    weights[target] = bias_weights(bias[target], gamma)
    return weights


def run_score_matching(accurate: Frames, unlabeled: Frames, validation: Frames, test: Frames | None,
                       config: TrainConfig, out_dir: str | Path) -> RunResult:
    """Score matching on unlabeled configurations (beta = 1/kT at config.temperature_K), then
    fine-tuning on the accurate set (skipped when config.finetune is False)."""
    for frames, what in ((accurate, "accurate"), (validation, "validation"), (test, "test")):
        _check(frames, what)
    _check(unlabeled, "unlabeled", labelled=False)
    run = _Run(config, out_dir)
    run.claim("score-matching", accurate=accurate, unlabeled=unlabeled.unlabeled(), validation=validation, test=test)
    train, val = run.graphs(accurate), run.graphs(validation)
    pool = run.graphs(unlabeled.unlabeled())
    model = run.fresh("score")
    _align(model, accurate, train, fresh=True)
    beta = beta_of(config.temperature_K)
    loss = lambda m, b: score_matching_loss(m, b, beta, config.projections)  # noqa: E731
    judge = lambda m, graphs: evaluate(m, graphs, config.rho, config.loss, config.eval_batch_size, config.energy_per_atom)["force_mae"]  # noqa: E731
    run.stage("score_matching", model, pool, val, config.pretrain, loss, judge)  # epoch chosen on validation forces
    _align(model, accurate, train, fresh=False)
    if config.finetune:
        run.stage("finetune", model, train, val, config.finetune_stage)
    extra = {"counts": _counts(accurate=accurate, unlabeled=unlabeled, validation=validation, test=test),
             "temperature_K": config.temperature_K, "projections": config.projections}
    return run.finish("score-matching", model, val, run.graphs(test) if test is not None else None, extra)
