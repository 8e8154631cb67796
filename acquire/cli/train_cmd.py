"""`acquire train`: standard, ASTEROID or score-matching training from label sources.

A thin layer over `acquire.training` (the training of compare and run too). The accurate
source is split (seeded, duplicate geometries kept on one side) into training, validation and
test frames; the inaccurate pool loses every test geometry. torch is imported inside `run` only.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from acquire.cli import arguments
from acquire.cli.config_file import add_config_argument
from acquire.cli.output import add_output_arguments, show_progress, stdout_console
from train.config import MODEL_NAMES, PRESETS, parse_gammas  # plain dataclasses: no torch

HELP = "Train a force field: standard (accurate only), ASTEROID (accurate + inaccurate) or score matching."
EXAMPLES = """examples:
  acquire train --accurate 'md17:ethanol/ccsd(t)' --inaccurate md17:ethanol/dft --train 200 \\
                --inaccurate-count 2000 --method asteroid --preset quick --out runs/asteroid
  acquire train --accurate 'md17:ethanol/ccsd(t)' --train 250 --method standard --out runs/standard
  acquire train --accurate 'labels.db:pyscf:ccsd(t)/cc-pvdz' --inaccurate 'labels.db:pyscf:pbe/def2-svp' \\
                --method asteroid --out model/
  acquire train --accurate 'md17:ethanol/ccsd(t)' --unlabeled md17:ethanol/dft --method score-matching \\
                --temperature 500 --out runs/sm
  acquire train --config runs/standard/config.json --accurate 'md17:ethanol/ccsd(t)' --method standard --out again/
  acquire train --config recipe.yaml --out runs/mine   # recipe.yaml: accurate: ..., preset: paper,
                                                       # training: {rho: 0.02, pretrain: {epochs: 40}}
SRC is a cached spec (md17:ethanol/ccsd(t), cached:FILE) or STORE.db:LABELER-SPEC.
Metrics are test/validation MAE: energy kcal/mol, force kcal/mol/Å (mean over atoms and components).
"""
METHODS = ("asteroid", "standard", "score-matching")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accurate", required=True, metavar="SRC", help="accurate labels (split into train/validation/test)")
    parser.add_argument("--inaccurate", metavar="SRC", help="inaccurate labels (ASTEROID)")
    parser.add_argument("--extra-inaccurate", action="append", default=[], metavar="SRC",
                        help="ASTEROID: cheap labels of further molecules, pretrained on together with --inaccurate "
                        "(the paper's Table 5; repeatable; a store may hold several molecules, SRC@FORMULA keeps one; the same fidelity "
                        "as --inaccurate, since one set of element reference energies is fitted across them)")
    parser.add_argument("--energy-only", metavar="SRC",
                        help="accurate energy-only labels for ASTEROID's fine-tuning, e.g. of bond-stretched frames "
                             "(acquire sample --method stretch): 'labels.db:pyscf:ccsd(t)/cc-pvdz;forces=false'")
    parser.add_argument("--unlabeled", metavar="SRC", help="configurations for score matching (labels ignored)")
    parser.add_argument("--method", choices=METHODS, default="asteroid", help="training method (default asteroid)")
    parser.add_argument("--model", choices=MODEL_NAMES, default=None, help="architecture (default: the preset's: painn for quick, mace for paper)")
    parser.add_argument("--hidden", type=arguments.width, default=None, metavar="N", help="feature width (default: preset)")
    parser.add_argument("--layers", type=arguments.layers, default=None, metavar="N", help="interaction layers (default: preset)")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="quick",
                        help="quick: PaiNN, ~6 + 12 min for standard + ASTEROID on an idle core; paper: MACE, about an hour; stages are bounded by epochs (default quick)")
    parser.add_argument("--epochs-scale", type=arguments.scale, default=1.0, metavar="F", help="multiply every stage's epochs by F")
    parser.add_argument("--train", type=arguments.positive_frames, default=200, metavar="N", help="accurate training frames (default 200)")
    parser.add_argument("--validation", type=arguments.frames, default=50, metavar="N", help="accurate validation frames (default 50)")
    parser.add_argument("--test", type=arguments.positive_frames, default=None, metavar="N", help="test frames (default: all the rest)")
    parser.add_argument("--inaccurate-count", type=arguments.frames, default=None, metavar="N", help="inaccurate frames drawn from the pool (default all)")
    parser.add_argument("--gammas", default=None, metavar="LIST", help="gamma candidates, kcal/mol/Å, e.g. 0.1,0.5,1,2; add uniform to let the validation set "
                        "also choose plain pretraining without bias weights (default: preset)")
    parser.add_argument("--relative-gammas", action="store_true", default=None,
                        help="read --gammas as multiples of the measured median bias B (e.g. 0.05,0.1,0.2), so that "
                        "they follow the bias of the methods at hand (default: absolute kcal/mol/Å, as the paper)")
    parser.add_argument("--no-bias-weights", action="store_true", help="ablation: uniform weights on the inaccurate data")
    parser.add_argument("--no-finetune", action="store_true", help="ablation: skip fine-tuning on the accurate data")
    parser.add_argument("--temperature", type=arguments.temperature, default=None, metavar="K", help="score matching: sampling temperature (default 500 K)")
    parser.add_argument("--projections", type=arguments.runs, default=None, metavar="N", help="score matching: random projections (default 1)")
    parser.add_argument("--seed", type=arguments.seed, default=0, help="split and initialisation seed (default 0)")
    parser.add_argument("--threads", type=arguments.threads, default=1, metavar="N", help="torch threads (default 1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="run directory (rerun to resume)")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                        help="where to train: cpu (default), cuda, or auto (cuda when a GPU is visible)")
    add_config_argument(parser)
    add_output_arguments(parser, "print metrics.json instead of a table")


def run(args: argparse.Namespace) -> int:
    import train
    from acquire.folders import output_folder
    from acquire.sources import energy_only_frames, extra_frames, frames_of, load_source, with_forces
    from acquire.splits import make_split
    from acquire.training import RunFrames, train_method
    from labelers.atomic_files import atomic_write_text
    from train.device import resolve_device

    output_folder(args.out, "train", create=False)  # a file or another command's folder: refused before any work

    config = build_config(args)
    device = resolve_device(args.device)  # a missing GPU fails before any work
    accurate = with_forces(load_source(args.accurate), "--accurate")
    extra_src = args.inaccurate if args.method == "asteroid" else args.unlabeled
    if args.method == "asteroid" and not args.inaccurate:
        raise train.TrainError("--method asteroid needs --inaccurate SRC")
    if args.method == "score-matching" and not args.unlabeled:
        raise train.TrainError("--method score-matching needs --unlabeled SRC")
    if args.extra_inaccurate and args.method != "asteroid":
        raise train.TrainError("--extra-inaccurate goes with --method asteroid (its pretraining)")
    if args.energy_only and args.method != "asteroid":
        raise train.TrainError("--energy-only goes with --method asteroid (its fine-tuning)")
    energy_only = energy_only_frames(args.energy_only, accurate)
    pool = load_source(extra_src) if extra_src else None
    if args.method == "asteroid":
        with_forces(pool, "--inaccurate")
    count = 0 if pool is None else len(pool) if args.inaccurate_count is None else args.inaccurate_count
    split = make_split(accurate.positions, None if pool is None else pool.positions, args.train, args.validation,
                       count, args.seed)
    test = split.test[: args.test] if args.test is not None else split.test
    out = output_folder(args.out, "train")
    atomic_write_text(out / "split.json", json.dumps({
        "seed": args.seed, "accurate": args.accurate, "train": list(map(int, split.train)),
        "validation": list(map(int, split.validation)), "test": list(map(int, test)), "pool": extra_src,
        "pool_indices": list(map(int, split.inaccurate)), "extra_inaccurate": args.extra_inaccurate,
        "energy_only": args.energy_only}))
    chosen = None if pool is None else frames_of(pool, split.inaccurate, "inaccurate" if args.method == "asteroid" else "unlabeled")
    frames = RunFrames(frames_of(accurate, split.train, "accurate"), frames_of(accurate, split.validation, "validation"),
                       frames_of(accurate, test, "test"),
                       inaccurate=chosen if args.method == "asteroid" else None,
                       extra_inaccurate=tuple(extra_frames(args.extra_inaccurate, accurate, split.test)),
                       unlabeled=chosen.unlabeled() if chosen is not None and args.method == "score-matching" else None,
                       energy_only=energy_only)
    with device:  # torch's default device: model and graphs are built there
        result = train_method(args.method, frames, config, out)
    if args.json:
        print((out / "metrics.json").read_text().strip())
    else:
        print_table(result.metrics, out)
    return 0


def build_config(args: argparse.Namespace) -> Any:
    """The TrainConfig the options ask for: the preset, then a --config file's training fields,
    then the options given."""
    from dataclasses import replace

    import train
    from acquire.training import training_config

    gammas, uniform = parse_gammas(args.gammas) if args.gammas else (None, False)
    config = training_config(args.preset, args.training, seed=args.seed, threads=args.threads,
                             progress=show_progress(args), gammas=gammas, uniform=uniform)
    if args.model is not None and args.model != config.model.name:
        config = replace(config, model=train.default_model(args.model))
    sizes = {k: v for k, v in (("hidden", args.hidden), ("layers", args.layers)) if v is not None}
    if sizes:
        config = train.with_model(config, **sizes)
    if args.relative_gammas:
        config = replace(config, relative_gammas=True, bias_weights=True)
    if args.no_bias_weights or args.no_finetune:
        config = replace(config, bias_weights=config.bias_weights and not args.no_bias_weights,
                         finetune=config.finetune and not args.no_finetune)
    for name, value in (("temperature_K", args.temperature), ("projections", args.projections)):
        if value is not None:
            config = replace(config, **{name: value})
    if args.epochs_scale != 1.0:
        for stage in ("standard", "bias", "pretrain", "finetune_stage"):
            s = getattr(config, stage)
            config = train.with_stage(config, stage, epochs=max(1, round(s.epochs * args.epochs_scale)))
    return config


def print_table(metrics: dict, out: Path) -> None:
    from rich.table import Table

    table = Table(title=f"acquire train: {metrics['method']} ({out})")
    table.add_column("split")
    table.add_column("energy MAE (kcal/mol)", justify="right")
    table.add_column("force MAE (kcal/mol/Å)", justify="right")
    for split in ("validation", "test"):
        if split in metrics:
            table.add_row(split, f"{metrics[split]['energy_mae']:.3f}", f"{metrics[split]['force_mae']:.3f}")
    console = stdout_console()
    console.print(table)
    if metrics.get("gamma") is not None:
        console.print(f"chosen gamma: {metrics['gamma']:.3g} kcal/mol/Å")
    for point in metrics.get("gamma_search", []):  # how many cheap frames each gamma's weights are worth
        console.print(f"gamma {point['gamma']:.3g}: effective sample size {point['ess']:.1f} of {point.get('frames', '?')} "
                      f"cheap frames{' (collapsed: fewer than the accurate training labels)' if point.get('collapsed') else ''}",
                      highlight=False)
    console.print(f"training time: {metrics['seconds']:.0f} s; model: {out / 'model.pt'}")
