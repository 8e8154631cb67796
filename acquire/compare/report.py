"""The comparison's outputs: metrics.json (every run, with units), the per-method summary (mean ±
std over seeds, gain over standard, cost), report.md and the plots (`acquire.compare.plots`).

Errors are test-set MAE: force averaged over atoms and Cartesian components (kcal/mol/Å), energy
per configuration (kcal/mol). The spread is the sample standard deviation over seeds (None for
one seed). The gain is relative to standard training at the same budget (positive = lower error).
"""
from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from acquire.compare.methods import label, selected, train_config
from acquire.compare.settings import FORMAT, CompareError
from acquire.versions import versions as installed
from labelers.atomic_files import atomic_write_text

UNITS = {
    "force_mae": "kcal/mol/Å", "energy_mae": "kcal/mol", "gamma": "kcal/mol/Å", "bias": "kcal/mol/Å",
    "cost_accurate_labels": "accurate-label equivalents", "cost_cpu_h": "CPU-core hours of labels",
    "train_cpu_h": "CPU-core hours of training (measured process CPU time; wall × threads for runs that did "
                   "not record it)", "seconds": "s (wall)",
    "gain_pct": "% lower test error than standard training at the same budget",
}


def training_cpu_seconds(result: dict[str, Any]) -> float:
    """A run's training CPU time (s): the measured process CPU time of its stages, or wall time ×
    threads for a run written before the trainer recorded it."""
    if result.get("cpu_seconds") is not None:
        return float(result["cpu_seconds"])
    return float(result.get("seconds", 0.0)) * result.get("threads", 1)


def summarise(runs: list) -> list[dict[str, Any]]:
    """One row per (budget/ratio key, method): mean and std over seeds of the test MAEs, cost, gain."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        if run.status == "skipped":
            continue
        row = rows.setdefault((run.key, run.method), {
            "key": run.key, "budget": run.budget, "ratio": run.ratio, "method": run.method,
            "n_accurate": run.n_accurate, "n_inaccurate": run.n_inaccurate, "n_unlabeled": run.n_unlabeled,
            "n_energy_only": run.n_energy_only,
            "cost_accurate_labels": run.cost_accurate_labels, "cost_cpu_h": run.cost_cpu_h,
            "seeds": [], "_force": [], "_energy": [], "_train_cpu_h": [], "_gamma": []})
        row["seeds"].append(run.seed)
        row["_force"].append(run.result["test"]["force_mae"])
        row["_energy"].append(run.result["test"]["energy_mae"])
        row["_train_cpu_h"].append(training_cpu_seconds(run.result) / 3600.0)
        if run.result.get("gamma") is not None:
            row["_gamma"].append(run.result["gamma"])
    out = []
    for row in rows.values():
        for name, values in (("force_mae", row.pop("_force")), ("energy_mae", row.pop("_energy"))):
            row[f"{name}_mean"] = float(np.mean(values))
            row[f"{name}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else None
        row["train_cpu_h"] = float(np.sum(row.pop("_train_cpu_h")))
        gammas = row.pop("_gamma")
        row["gammas_chosen"] = gammas or None
        out.append(row)
    standard = {r["key"]: r for r in out if r["method"] == "standard"}
    for row in out:
        base = standard.get(row["key"])
        for name in ("force_mae", "energy_mae"):
            row[f"{name}_gain_pct"] = (None if base is None else
                                       100.0 * (base[f"{name}_mean"] - row[f"{name}_mean"]) / base[f"{name}_mean"])
    return out


def versions(runs: list) -> dict[str, str]:
    """Package versions of the trainer (from a run), of this project, and the git commit if any."""
    found: dict[str, str] = {}
    for run in runs:
        found.update(run.result.get("versions", {}))
        if found:
            break
    found.update(installed(("asteroid-ff", "matplotlib", "scipy")))
    found["platform"] = platform.platform()
    commit = git_commit()
    if commit:
        found["git_commit"] = commit
    return found


def git_commit() -> str | None:
    """The commit of the source tree this code runs from ('+dirty' if it has local changes), or None."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def build_document(settings: Any, plans: dict[str, Any], runs: list, splits: dict[int, Any],
                   pool: dict[str, Any] | None = None, label_cost: dict[str, Any] | None = None) -> dict[str, Any]:
    """The metrics.json document: settings, plans (with the accurate label's cost and its origin), the
    inaccurate pool (and any plan it could not fill),
    per-run results, summary, skipped methods."""
    skipped = [{"key": r.key, "method": r.method, "seed": r.seed, "why": r.note} for r in runs if r.status == "skipped"]
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": settings.command,
        "units": UNITS,
        "settings": {**asdict(settings), "methods": selected(settings), "seed_list": list(range(settings.seeds))},
        "config": train_config(settings, "asteroid", 0).to_dict(),
        "versions": versions(runs),
        "plans": {key: p.model_dump(mode="json") for key, p in plans.items()},
        "pool": pool or {},
        "accurate_label_cost": label_cost,
        "splits": {str(seed): {"file": f"splits/seed{seed}.json", "n_validation": len(s.validation),
                               "n_test": len(s.test), "n_candidates": len(s.train_order),
                               "selection": s.needs.selection, **s.selection_info}
                   for seed, s in splits.items()},
        "runs": [{k: v for k, v in asdict(r).items() if k not in ("result",)} | r.result
                 for r in runs if r.status != "skipped"],
        "summary": summarise(runs),
        "skipped": skipped,
    }


def read_document(folder: str | Path) -> dict[str, Any]:
    """The metrics.json of a comparison folder."""
    path = Path(folder) / "metrics.json"
    if not path.exists():
        raise CompareError(f"no comparison results at {path}; run `acquire compare --out {folder}` first")
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CompareError(f"{path} is not valid JSON: {error}") from None
    if document.get("format") != FORMAT:
        raise CompareError(f"{path} is not an acquire compare metrics file")
    return document


def write_json(document: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_outputs(out: Path, settings: Any, plans: dict[str, Any], runs: list, splits: dict[int, Any],
                  pool: dict[str, Any] | None = None, label_cost: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write metrics.json, the plots and report.md into `out`; return the metrics document."""
    from acquire.compare.plots import make_plots

    document = build_document(settings, plans, runs, splits, pool, label_cost)
    archive_previous(out, document)
    document["plots"] = make_plots(out, document)
    write_json(document, out / "metrics.json")
    atomic_write_text(out / "report.md", markdown(document))
    return document


def archive_previous(out: Path, document: dict[str, Any]) -> None:
    """Keep the report of an earlier invocation with other settings in `out/history/` (its runs stay
    in `out/runs/` and still count for `acquire plan --policy optimal --from out`)."""
    previous = out / "metrics.json"
    if not previous.exists():
        return
    try:
        old = json.loads(previous.read_text())
    except json.JSONDecodeError:
        return
    ignore = ("command", "progress", "threads")
    same = lambda a: {k: v for k, v in a.items() if k not in ignore}  # noqa: E731
    if same(old.get("settings", {})) == same(json.loads(json.dumps(document["settings"], default=_plain))):
        return
    stamp = str(old.get("created", "earlier")).replace(":", "")
    (out / "history").mkdir(exist_ok=True)
    for name in ("metrics.json", "report.md"):
        if (out / name).exists():
            (out / name).replace(out / "history" / f"{stamp}-{name}")


def _extra_lines(document: dict[str, Any]) -> list[str]:
    """What ASTEROID pretrained on besides the plan's inaccurate labels (--extra-inaccurate)."""
    extra = document["settings"].get("extra_inaccurate") or []
    if not extra:
        return []
    molecules = next((r["inaccurate_molecules"] for r in document["runs"] if r.get("inaccurate_molecules")), [])
    listed = ", ".join(f"{m['formula']} {m['frames']}" + (" (bias-weighted)" if m["bias_weighted"] else "")
                       for m in molecules[1:])
    return ["", f"ASTEROID and its ablations also pretrained on the cheap labels of {', '.join(extra)}"
            + (f" (frames per molecule: {listed})" if listed else "")
            + ". They are not charged to the budget: the plans above count only the target molecule's labels."]


def _committee(split: dict[str, Any]) -> str:
    """What the uncertain selection's committee did, for a split's line in report.md."""
    if "members" not in split:
        return ""
    spread = split["disagreement_kcal_mol_A"]
    return (f" (committee of {split['members']} trained on {split['member_frames']} pool frames, "
            f"{split['member_epochs']} epochs each, {split['cpu_s'] / 60:.1f} CPU-min; force spread "
            f"{spread['max']:.3f} to {spread['min']:.3f} kcal/mol/Å)")


def fmt(mean: float | None, std: float | None = None, digits: int = 3) -> str:
    if mean is None:
        return "—"
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


def gain(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} %"


TABLE_HEADERS = ("budget / ratio", "method", "accurate + inaccurate labels", "seeds",
                 "test force MAE (kcal/mol/Å)", "test energy MAE (kcal/mol)", "force gain vs standard",
                 "label cost (accurate-label units)", "label cost (CPU-h)", "training (CPU-h)")


SHORT_HEADERS = ("budget/ratio", "method", "acc + inacc", "seeds", "force MAE (kcal/mol/Å)",
                 "energy MAE (kcal/mol)", "force gain", "cost (acc. labels)", "cost (CPU-h)", "training (CPU-h)")


def table_rows(document: dict[str, Any], short: bool = False) -> list[tuple[str, ...]]:
    """The summary as text cells under TABLE_HEADERS (report.md) or SHORT_HEADERS (terminal, `short`)."""
    rows = []
    for row in document["summary"]:
        labels = f"{row['n_accurate']} + {row['n_inaccurate']}"
        if row.get("n_energy_only"):
            labels = f"{row['n_accurate']} + {row['n_energy_only']} energies + {row['n_inaccurate']}"
        if row["n_unlabeled"]:
            labels = f"{row['n_accurate']} + {row['n_unlabeled']} unlabeled"
        method = row["method"] if short else label(row["method"])
        rows.append((f"{row['budget']} / {row['ratio']:g}", method, labels,
                     str(len(row["seeds"])), fmt(row["force_mae_mean"], row["force_mae_std"]),
                     fmt(row["energy_mae_mean"], row["energy_mae_std"]),
                     "—" if row["method"] == "standard" else gain(row["force_mae_gain_pct"]),
                     f"{row['cost_accurate_labels']:.1f}", fmt(row["cost_cpu_h"], digits=1),
                     f"{row['train_cpu_h']:.2f}"))
    return rows


METHOD_NOTES = {
    "standard": "the whole budget on accurate labels.",
    "asteroid": "bias identification on the accurate set, bias-weighted training on the inaccurate set "
                "(w = exp(-B/gamma), gamma chosen on the validation set; uniform weights where the preset has no "
                "bias weights or the validation set chooses them), fine-tuning on the accurate set.",
    "no-bias-weights": "ablation: uniform weights, i.e. plain pretraining on the inaccurate set then fine-tuning.",
    "no-finetune": "ablation: ASTEROID's pretrained model without fine-tuning (reference energies refitted on "
                   "the accurate set); it reuses ASTEROID's finished bias and pretraining stages, whose CPU time "
                   "its training column counts again.",
    "delta-ml": "a base model on the inaccurate labels plus a model of (accurate - inaccurate) on paired "
                "frames (the accurate training frames and their inaccurate twins); same labels as ASTEROID.",
    "score-matching": "sliced score matching on the inaccurate pool's geometries with their labels removed "
                      "(unlabeled configurations cost no labels), then fine-tuning on the whole budget of "
                      "accurate labels.",
}


def findings(document: dict[str, Any]) -> list[str]:
    """One sentence per budget/ratio and method against standard, with the paired seed spread in view
    (the methods of one seed share its split, so per-seed differences are compared)."""
    errors = {(r["key"], r["method"], r["seed"]): r["test"]["force_mae"] for r in document["runs"]}
    lines = []
    rows = document["summary"]
    for row in rows:
        base = next((r for r in rows if r["key"] == row["key"] and r["method"] == "standard"), None)
        if base is None or row["method"] == "standard":
            continue
        diff = base["force_mae_mean"] - row["force_mae_mean"]
        paired = [errors[row["key"], "standard", s] - errors[row["key"], row["method"], s] for s in row["seeds"]
                  if (row["key"], "standard", s) in errors]
        if len(paired) < 2:
            spread = "one seed, so no spread estimate"
        else:
            error = float(np.std(paired, ddof=1)) / len(paired) ** 0.5
            ratio = abs(float(np.mean(paired))) / error if error > 0 else float("inf")
            spread = (f"paired over {len(paired)} seeds the difference is {ratio:.1f} standard errors"
                      + (" (within seed noise)" if ratio < 2 else "")
                      + (" (two seeds: a rough estimate)" if len(paired) == 2 else ""))
        lines.append(f"- {row['key']}: {row['method']} {fmt(row['force_mae_mean'])} vs standard "
                     f"{fmt(base['force_mae_mean'])} kcal/mol/Å, {abs(row['force_mae_gain_pct']):.1f} % "
                     f"{'lower' if diff > 0 else 'higher'}; {spread}.")
    return lines + ([""] if lines else [])


def _gamma_text(gamma: float | None) -> str:
    return "uniform (no bias weights)" if gamma is None else fmt(gamma, digits=2)


def _ess_text(point: dict[str, Any]) -> str:
    """A gamma's effective sample size (of how many cheap frames; 'collapsed' below the accurate count)."""
    if point.get("ess") is None:
        return "—"
    of = f" of {point['frames']}" if point.get("frames") else ""
    return f"{point['ess']:.0f}{of}{' (collapsed)' if point.get('collapsed') else ''}"


def _gamma_lines(document: dict[str, Any]) -> list[str]:
    """The gamma ASTEROID's validation set chose per run and, with several candidates, each
    candidate's validation and test force MAE (the test figures show what the choice cost or won)."""
    runs = [r for r in document["runs"] if r["method"] == "asteroid" and "gamma" in r]
    if not runs:
        return []
    lines = ["Chosen gamma (kcal/mol/Å, on the validation set): " + ", ".join(
        f"{r['key']} seed {r['seed']}: {_gamma_text(r['gamma'])}" for r in runs), ""]
    collapsed = [f"{r['key']} seed {r['seed']} (gamma {_gamma_text(p['gamma'])}: {_ess_text(p)})" for r in runs
                 for p in r.get("gamma_search") or [] if p.get("collapsed") and p["gamma"] == r["gamma"]]
    if collapsed:
        lines += ["Warning: the chosen gamma's bias weights are worth fewer cheap frames than the accurate training "
                  "labels (effective sample size), so the cheap labels add little: " + ", ".join(collapsed) +
                  ". Larger gammas or gammas relative to the median bias keep more.", ""]
    searched = [r for r in runs if len(r.get("gamma_search") or []) > 1]
    if searched:
        lines += ["| run | gamma | effective sample size | validation force MAE | test force MAE | chosen |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['key']} seed {r['seed']} | {_gamma_text(p['gamma'])} | {_ess_text(p)} | {fmt(p.get('val_force_mae'))} | "
                  f"{fmt(p.get('test_force_mae'))} | {'yes' if p['gamma'] == r['gamma'] else ''} |"
                  for r in searched for p in r["gamma_search"]]
        lines.append("")
    return lines


def markdown(document: dict[str, Any]) -> str:
    """report.md: the table, the plots, what each method spent, settings, plans, versions, command."""
    settings = document["settings"]
    lines = [
        "# ASTEROID-FF budget-matched comparison", "",
        f"Accurate labels: `{settings['accurate']}`; inaccurate labels: `{settings['inaccurate']}`. "
        f"Preset `{settings['preset']}`, seeds {settings['seed_list']}, created {document['created']}.", "",
        "Test-set MAE on held-out accurate frames, mean ± sample standard deviation over seeds. "
        "Force MAE is averaged over atoms and Cartesian components. The gain is relative to standard "
        "training at the same budget (positive = lower error). Label costs are what each method's "
        "training labels cost (validation labels are not charged); training CPU-hours are the measured "
        "CPU time of the training processes (wall time × threads for runs that did not record it), summed "
        "over seeds.", "",
        "| " + " | ".join(TABLE_HEADERS) + " |",
        "|" + "---|" * len(TABLE_HEADERS),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(document)]
    lines.append("")
    lines += findings(document)
    for skip in document["skipped"]:
        lines.append(f"- `{skip['method']}` at {skip['key']} seed {skip['seed']} was not run: {skip['why']}")
    if document["skipped"]:
        lines.append("")
    lines += _gamma_lines(document)
    if document.get("plots"):
        lines += ["## Plots", ""]
        lines += [f"![{name}]({name})" for name in document["plots"]]
        lines.append("")
    lines += ["## Methods", ""]
    lines += [f"- `{m}`: {METHOD_NOTES[m]}" for m in document["settings"]["methods"] if m in METHOD_NOTES]
    lines += ["", "## Plans (what each budget buys)", ""]
    cost = document.get("accurate_label_cost")
    if cost:
        lines += [f"Label costs: one accurate label ({settings['accurate']}) costs {cost['seconds']:.4g} CPU-core s "
                  f"({cost['describe']}); an inaccurate one costs that divided by the ratio.", ""]
    for key, p in document["plans"].items():
        lines.append(f"- **{key}**: {p['policy']} policy ({p['policy_description']}): "
                     f"{p['accurate']['count']} accurate + {p['inaccurate']['count']} inaccurate labels vs "
                     f"{p['standard']['count']} accurate for standard training; validation {p['validation']['count']} "
                     f"({'charged' if p['validation']['charged'] else 'not charged'}); leftover "
                     f"{p['leftover']['cost_accurate_labels']:.2f} accurate-label units.")
        if key in document.get("pool", {}).get("limited", {}):
            over = document["pool"]["limited"][key]
            lines.append(f"  The pool holds only {over['pool_frames']} usable frames: {over['unspent_inaccurate']} "
                         f"planned inaccurate labels ({over['leftover_accurate_labels']:.2f} accurate-label units) "
                         "were not bought and are left over, not spent"
                         + (f" (`--inaccurate-share {over['fitting_share']}` spends them on accurate labels instead)."
                            if "fitting_share" in over else "."))
    lines += _extra_lines(document)
    if document["settings"].get("energy_only"):
        lines += ["", f"ASTEROID and its bias-weight ablation also fitted the accurate energy-only labels of "
                  f"{document['settings']['energy_only']} in their fine-tuning; they are not charged to the budget "
                  "(an energy without its forces costs a fraction of a force label: see the labelers' cost table)."]
    lines += ["", "## Splits", "",
              "Each seed has one leak-free split (`splits/seed<k>.json`): the accurate frames shuffled with "
              "the seed, duplicate geometries kept on one side, every geometry of the test split removed from "
              "the inaccurate pool. All budgets, ratios and methods of a seed share its validation and test "
              "frames; training sets are prefixes of the seed's training order. Each run's directory holds "
              "its model (`model.pt`), `metrics.json`, `log.csv`, `split.json` and `predictions.npz`.", ""]
    if settings.get("test_source"):
        lines += [f"Test frames: those of `{settings['test_source']}` (held out: not split from the accurate labels; "
                  "accurate frames that repeat one of them are neither trained nor validated on).", ""]
    lines += [f"- seed {seed}: {s['n_validation']} validation, {s['n_test']} test frames; training frames bought "
              f"from {s.get('n_candidates', '?')} candidates in {s.get('selection', 'random')} order" + _committee(s)
              for seed, s in document["splits"].items()]
    lines += ["", "## Settings and versions", "", "```json",
              json.dumps({"settings": settings, "config": document["config"], "versions": document["versions"]},
                         indent=1, ensure_ascii=False), "```", "", "## Command", "", "```",
              document["command"] or "(library call)", "```", ""]
    return "\n".join(lines)
