"""`acquire compare` on tiny runs: report and metrics (structure, units), leak-free nested splits,
resumption, the optimal planning policy from the results, Delta-ML on a store with paired labels,
and one-line errors (exit 2) for bad inputs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import acquire

from acquire.cli.main import main
from acquire.compare.runner import run_comparison
from acquire.compare.settings import CompareSettings
from acquire.sources import load_source
from labelers.datasets import load_md17, match_frames

TINY = ["--dataset", "ethanol", "--budgets", "60ccsd,70ccsd", "--ratios", "2,3", "--preset", "tiny",
        "--validation", "5", "--test", "20", "--quiet"]



@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "out"
    assert main(["compare", *TINY, "--out", str(out)]) == 0
    return out


def test_metrics_json_structure_and_units(tiny: Path) -> None:
    doc = json.loads((tiny / "metrics.json").read_text())
    assert doc["format"] == "asteroid-ff/compare/1"
    assert doc["units"]["force_mae"] == "kcal/mol/Å" and doc["units"]["energy_mae"] == "kcal/mol"
    assert doc["settings"]["seed_list"] == [0] and doc["settings"]["preset"] == "tiny"
    assert "torch" in doc["versions"] and doc["config"]["model"]["hidden"] > 0
    assert doc["command"].startswith("acquire compare") and "--budgets 60ccsd,70ccsd" in doc["command"]
    keys = ("60ccsd_r2", "60ccsd_r3", "70ccsd_r2", "70ccsd_r3")
    assert set(doc["plans"]) == set(keys)
    cost = doc["accurate_label_cost"]  # the accurate label's cost and where it came from
    assert cost["seconds"] == pytest.approx(2400.0) and cost["origin"] == "declared"
    assert doc["plans"]["60ccsd_r2"]["accurate"]["count"] == 10 and doc["plans"]["60ccsd_r2"]["inaccurate"]["count"] == 100
    runs = {(r["key"], r["method"]): r for r in doc["runs"]}
    assert set(runs) == {(k, m) for k in keys for m in ("standard", "asteroid")}
    assert (runs["60ccsd_r2", "standard"]["n_accurate"], runs["60ccsd_r2", "standard"]["n_inaccurate"]) == (60, 0)
    assert (runs["70ccsd_r2", "asteroid"]["n_accurate"], runs["70ccsd_r2", "asteroid"]["n_inaccurate"]) == (20, 100)
    assert (runs["70ccsd_r3", "asteroid"]["n_accurate"], runs["70ccsd_r3", "asteroid"]["n_inaccurate"]) == (20, 150)
    # standard training does not depend on the ratio: trained once per budget, shared by both ratios
    assert runs["60ccsd_r3", "standard"]["status"] == "shared"
    assert runs["60ccsd_r3", "standard"]["dir"] == runs["60ccsd_r2", "standard"]["dir"]
    for run in doc["runs"]:  # equal cost: every method spends the budget
        assert run["cost_accurate_labels"] == pytest.approx(float(run["budget"].removesuffix("ccsd")))
        assert run["test"]["force_mae"] > 0 and run["test"]["energy_mae"] > 0 and run["seed"] == 0
        assert {"model.pt", "metrics.json", "split.json", "predictions.npz"} <= {p.name for p in (tiny / run["dir"]).iterdir()}
    for row in doc["summary"]:
        assert row["force_mae_std"] is None and row["seeds"] == [0]  # one seed: no spread
        # training CPU time is what the trainer measured (process CPU time), not wall time × threads
        cpu = runs[row["key"], row["method"]]["cpu_seconds"]
        assert cpu > 0 and row["train_cpu_h"] == pytest.approx(cpu / 3600)
        if row["method"] == "standard":
            assert row["force_mae_gain_pct"] == 0
    asteroid = runs["60ccsd_r2", "asteroid"]
    assert asteroid["gamma"] in (0.5, 2.0) and len(asteroid["gamma_search"]) == 2


def test_report_and_plots(tiny: Path) -> None:
    report = (tiny / "report.md").read_text()
    assert "test force MAE (kcal/mol/Å)" in report and "test energy MAE (kcal/mol)" in report
    assert "| 70ccsd / 2 | ASTEROID | 20 + 100 | 1 |" in report
    assert "acquire compare" in report and '"torch"' in report
    assert "one accurate label (md17:ethanol/ccsd(t)) costs 2400 CPU-core s (declared figure)" in report
    for name in ("error_vs_budget.png", "error_vs_ratio.png", "force_parity.png", "gamma_sensitivity.png",
                 "bias_weights.png"):
        assert (tiny / name).read_bytes()[:4] == b"\x89PNG" and f"]({name})" in report


def test_splits_are_nested_leak_free_and_shared(tiny: Path) -> None:
    acc, inacc = load_md17("ethanol", "ccsd(t)"), load_md17("ethanol", "dft")
    splits = [json.loads(p.read_text()) for p in sorted((tiny / "runs").glob("*/*/seed0/split.json"))]
    assert len(splits) == 6 and all(s["test"] == splits[0]["test"] for s in splits)
    assert all(s["validation"] == splits[0]["validation"] for s in splits)
    by_size = sorted(splits, key=lambda s: len(s["train"]))
    for small, large in zip(by_size, by_size[1:]):  # training sets are nested prefixes
        assert large["train"][:len(small["train"])] == small["train"]
    test = acc.positions[splits[0]["test"]]
    for s in splits:
        assert not set(s["train"]) & set(s["test"]) and not set(s["validation"]) & set(s["test"])
        training = np.concatenate([acc.positions[s["train"]], inacc.positions[s["inaccurate_indices"]]])
        assert (match_frames(test, training) == -1).all()


def test_rerun_skips_finished_runs(tiny: Path) -> None:
    models = sorted((tiny / "runs").glob("*/*/seed0/model.pt"))
    before = {p: p.stat().st_mtime_ns for p in models}
    lines: list[str] = []
    settings = CompareSettings(accurate="md17:ethanol/ccsd(t)", inaccurate="md17:ethanol/dft",
                               budgets=("60ccsd", "70ccsd"), ratios=(2.0, 3.0), preset="tiny", validation=5, test=20,
                               progress=False)
    document = run_comparison(settings, tiny, lines.append)
    assert len(models) == 6 and {p: p.stat().st_mtime_ns for p in models} == before
    assert sum("finished earlier, skipped" in line for line in lines) == 6
    assert sum(", shared;" in line for line in lines) == 2 and not any(": training" in line for line in lines)
    assert {r["status"] for r in document["runs"]} == {"resumed-finished", "shared"}


def test_reuse_copies_runs_that_do_not_read_what_changed(tiny: Path, tmp_path: Path) -> None:
    """Another comparison with other ASTEROID settings (gamma 1 or uniform weights) and --reuse: the
    standard run (which reads neither the cheap labels nor the pretraining settings) is copied,
    ASTEROID is trained with both candidates; a rerun resumes both."""
    out = tmp_path / "again"
    args = ["compare", *[a if a != "2,3" else "3" for a in TINY], "--gammas", "1,uniform", "--json", "--reuse", str(tiny), "--out", str(out)]
    assert main(args) == 0
    runs = {r["method"]: r for r in json.loads((out / "metrics.json").read_text())["runs"] if r["key"] == "60ccsd_r3"}
    assert runs["standard"]["status"] == "reused" and runs["asteroid"]["status"] == "trained"
    source = tiny / "runs/60ccsd_r2/standard/seed0"  # shared by both ratios there
    assert (out / runs["standard"]["dir"] / "model.pt").read_bytes() == (source / "model.pt").read_bytes()
    assert [p["gamma"] for p in runs["asteroid"]["gamma_search"]] == [1.0, None]  # None: uniform (JSON has no inf)
    assert runs["asteroid"]["weights"] == ("uniform" if runs["asteroid"]["gamma"] is None else "bias")
    assert all(p["test_force_mae"] > 0 for p in runs["asteroid"]["gamma_search"])  # each candidate tested, for the report
    report = (out / "report.md").read_text()
    assert "| run | gamma | effective sample size | validation force MAE | test force MAE | chosen |" in report
    assert all(p["ess"] > 0 and p["frames"] > 0 for p in runs["asteroid"]["gamma_search"])  # each gamma's weights, worth
    from acquire.compare.summary import folder_rows  # each candidate becomes a row of `acquire summarize`

    rows = {r.candidate: r for r in folder_rows("again", out) if r.method == "asteroid" and (r.budget, r.ratio) == ("60ccsd", 3)}
    tested = {("uniform" if p["gamma"] is None else f"{p['gamma']:g}"): p["test_force_mae"]
              for p in runs["asteroid"]["gamma_search"]}
    assert set(rows) == {None, "1", "uniform"} and all(rows[c].force_mae == [tested[c]] for c in tested)
    assert main(args) == 0
    assert {r["status"] for r in json.loads((out / "metrics.json").read_text())["runs"]} == {"resumed-finished"}


def test_summarize_puts_folders_side_by_side(tiny: Path, tmp_path: Path, capsys) -> None:
    """`acquire summarize`: a row per folder, budget/ratio and method with the folder's own means,
    gains paired by seed, the files it names; a folder without metrics.json is a one-line error."""
    out = tmp_path / "side"
    assert main(["summarize", f"first={tiny}", f"second={tiny}", "--out", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    summary = json.loads((tiny / "metrics.json").read_text())["summary"]
    rows = [r for r in document["rows"] if r["candidate"] is None]  # the tiny preset's two gammas add candidate rows
    assert [r["name"] for r in rows] == ["first"] * len(summary) + ["second"] * len(summary)
    own = {(s["budget"], s["ratio"], s["method"]): s["force_mae_mean"] for s in summary}
    assert all(r["force_mae_mean"] == pytest.approx(own[(r["budget"], r["ratio"], r["method"])]) for r in rows)
    runs = json.loads((tiny / "metrics.json").read_text())["runs"]
    force = {(r["key"], r["method"], r["seed"]): r["test"]["force_mae"] for r in runs}
    asteroid = next(r for r in rows if r["method"] == "asteroid" and r["budget"] == "60ccsd" and r["ratio"] == 2)
    expected = 100 * (1 - force[("60ccsd_r2", "asteroid", 0)] / force[("60ccsd_r2", "standard", 0)])
    assert asteroid["paired_gain_pct"] == [pytest.approx(expected)]
    assert set(document["written"]) == {"summary.md", "summary.json", "error_by_comparison.png", "error_vs_budget.png"}
    assert all((out / name).stat().st_size > 0 for name in document["written"])
    assert "| first | 60ccsd / 2 |" in (out / "summary.md").read_text()
    assert main(["summarize", f"none={tmp_path / 'missing'}"]) == 2
    assert "no comparison results" in capsys.readouterr().err
    broken = json.loads((tiny / "metrics.json").read_text())  # a run that diverged: counted, not averaged
    run = next(r for r in broken["runs"] if r["method"] == "asteroid")
    run["test"]["force_mae"] = None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metrics.json").write_text(json.dumps(broken))
    assert main(["summarize", str(tmp_path / "broken"), "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out)["rows"] if r["method"] == "asteroid" and r["budget"] == run["budget"]
               and r["ratio"] == run["ratio"])
    assert row["diverged"] == 1 and row["force_mae"] == [] and row["force_mae_mean"] is None


def test_optimal_policy_from_the_results(tiny: Path, capsys) -> None:
    assert main(["plan", "--budget", "65ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(tiny), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["policy"] == "optimal"
    assert doc["accurate"]["count"] + doc["inaccurate"]["count"] / 2 <= 65
    optimal = doc["optimal"]
    assert optimal["points"] == 6 and optimal["units"] == "kcal/mol/Å"  # shared runs count once
    rows = {r["split"]: r for r in optimal["splits"]}
    assert rows["optimal"]["predicted"] <= min(rows["paper"]["predicted"], rows["standard"]["predicted"]) + 1e-9
    assert main(["plan", "--budget", "60ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(tiny), "--json"]) == 0
    measured = {r["split"]: r["measured"] for r in json.loads(capsys.readouterr().out)["optimal"]["splits"]}
    runs = {r["method"]: r for r in json.loads((tiny / "metrics.json").read_text())["runs"] if r["key"] == "60ccsd_r2"}
    assert measured["standard"] == pytest.approx(runs["standard"]["test"]["force_mae"])
    assert measured["paper"] == pytest.approx(runs["asteroid"]["test"]["force_mae"])


def test_optimal_policy_fits_several_folders_and_counts_a_copied_run_once(tiny: Path, tmp_path: Path, capsys) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(tiny, other)  # every run copied: the same runs, counted once
    metrics = sorted(other.glob("runs/*/asteroid/seed0/metrics.json"))[0]
    changed = json.loads(metrics.read_text())
    changed["test"]["force_mae"] *= 1.5  # one run of another split (another folder's frames): a new point
    metrics.write_text(json.dumps(changed))
    assert main(["plan", "--budget", "65ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(tiny),
                 "--from", str(other), "--json"]) == 0
    optimal = json.loads(capsys.readouterr().out)["optimal"]
    assert optimal["points"] == 7 and optimal["from"] == [str(tiny), str(other)]
    assert optimal["measure_with"].endswith(f"--out {tiny}")
    # the measuring command keeps the first folder's cheap fidelity and selection; a budget beyond
    # its splits' training frames goes to a new folder beside it
    document = json.loads((other / "metrics.json").read_text())
    document["settings"].update(dataset="ethanol", inaccurate="xtb:gfn2", pool="md17:ethanol/dft", selection="diverse")
    (other / "metrics.json").write_text(json.dumps(document))
    assert main(["plan", "--budget", "75ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(other),
                 "--from", str(tiny), "--json"]) == 0
    command = json.loads(capsys.readouterr().out)["optimal"]["measure_with"]
    assert "--dataset ethanol --inaccurate xtb:gfn2 --budget 75ccsd" in command and "--pool" not in command
    assert "--selection diverse" in command and command.endswith(f"--out {other}_75ccsd")


def test_optimal_policy_keeps_to_the_cap_on_inaccurate_labels(tiny: Path, capsys) -> None:
    """A pool of 3 frames: the optimal split spends on inaccurate labels at most what the pool holds,
    and the rest of the budget on accurate labels."""
    assert main(["plan", "--budget", "65ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(tiny), "--json"]) == 0
    free = json.loads(capsys.readouterr().out)
    assert main(["plan", "--budget", "65ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(tiny),
                 "--max-inaccurate", "3", "--json"]) == 0
    capped = json.loads(capsys.readouterr().out)
    assert capped["inaccurate"]["count"] == min(3, free["inaccurate"]["count"])
    assert capped["accurate"]["count"] == 65 - math.ceil(capped["inaccurate"]["count"] / 2)
    assert "at most 3 inaccurate labels" in capped["policy_description"]
    assert main(["plan", "--budget", "65ccsd", "--ratio", "2", "--max-training", "1cpu-h"]) == 2
    assert "--max-training needs per-label costs" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--budget", "250ccsd", "--out", "x"], "give --dataset ethanol"),
    (["--dataset", "ethanol", "--store", "l.db", "--accurate", "a", "--inaccurate", "b", "--out", "x"], "not both"),
    (["--dataset", "ethanol", "--budget", "250ccsd", "--budgets", "100ccsd", "--out", "x"], "not both"),
    (["--dataset", "ethanol", "--ratio", "0.5", "--out", "x"], "> 1"),
    (["--dataset", "ethanol", "--budgets", "100ccsd,,200ccsd", "--out", "x"], "comma-separated"),
    (["--dataset", "ethanol", "--gammas", "0.5,x", "--out", "x"], "--gammas"),
    (["--dataset", "ethanol", "--seeds", "0", "--out", "x"], "--seeds"),
    (["--dataset", "ethanol", "--budget", "10ccsd", "--out", "x"], "too small"),
    (["--dataset", "ethanol", "--budget", "960ccsd", "--out", "x"], "no test frames"),
    (["--dataset", "ethanol", "--budget", "12cpu-h", "--out", "x"], "accurate labels"),
    (["--store", "missing.db", "--accurate", "a", "--inaccurate", "b", "--out", "x"], "not found"),
    (["--dataset", "ethanol", "--reuse", "nowhere", "--out", "x"], "not a comparison's output folder"),
])
def test_bad_inputs_exit_2_with_one_line(tmp_path: Path, monkeypatch, capsys, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("acquire compare: error:")


def test_bad_input_through_the_console_script(tmp_path: Path) -> None:
    result = acquire("compare", "--dataset", "ethanol", "--budget", "abc", "--out", "x", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_resume_with_other_splits_and_optimal_errors_are_one_line(tiny: Path, capsys) -> None:
    assert main(["compare", *TINY, "--validation", "6", "--out", str(tiny)]) == 2
    assert "other splits" in capsys.readouterr().err
    assert main(["compare", *TINY, "--preset", "quick", "--out", str(tiny)]) == 2
    assert "other settings" in capsys.readouterr().err
    assert main(["plan", "--budget", "60ccsd", "--ratio", "2", "--policy", "optimal"]) == 2
    assert "--from DIR" in capsys.readouterr().err
    assert main(["plan", "--budget", "60ccsd", "--ratio", "2", "--policy", "optimal", "--from", str(tiny / "none")]) == 2
    assert "no comparison results" in capsys.readouterr().err


def test_delta_ml_on_a_store_with_paired_labels(tmp_path: Path) -> None:
    for labeler in ("md17:ethanol/ccsd(t)", "xtb:gfn2"):  # the same 60 geometries, both labelers
        assert acquire("label", "md17:ethanol/ccsd(t)", "--labeler", labeler, "--n", "60", "--store", "l.db",
                       cwd=tmp_path).returncode == 0
    result = acquire("compare", "--store", "l.db", "--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", "xtb:gfn2",
                     "--budget", "30ccsd", "--ratio", "2", "--inaccurate-share", "20%", "--validation", "5",
                     "--preset", "tiny", "--ablations", "--out", "c", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = {r["method"]: r for r in json.loads(result.stdout)["summary"]}
    assert set(summary) == {"standard", "asteroid", "no-bias-weights", "no-finetune", "delta-ml"}
    assert (summary["delta-ml"]["n_accurate"], summary["delta-ml"]["n_inaccurate"]) == (24, 12)
    delta = json.loads((tmp_path / "c/runs/30ccsd_r2_share20pct/delta-ml/seed0/metrics.json").read_text())
    assert delta["counts"]["paired"] == 24 and delta["test"]["force_mae"] > 0


def test_delta_ml_without_pairs_is_reported_not_run(tiny: Path) -> None:
    from acquire.compare.delta import delta_unavailable
    from acquire.sources import load_source

    acc, inacc = load_source("md17:ethanol/ccsd(t)"), load_source("md17:ethanol/dft")
    why = delta_unavailable(acc, inacc, list(range(200)))
    assert "paired labels" in why and "(6 pairs in the whole data)" in why


def test_ablations_and_score_matching_on_ethanol(tmp_path: Path) -> None:
    out = tmp_path / "abl"
    assert main(["compare", "--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "2", "--preset", "tiny",
                 "--validation", "5", "--test", "10", "--ablations", "--unlabeled", "--quiet", "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    runs = {r["method"]: r for r in doc["runs"]}
    assert set(runs) == {"standard", "asteroid", "no-bias-weights", "no-finetune", "score-matching"}
    assert (runs["score-matching"]["n_accurate"], runs["score-matching"]["n_unlabeled"]) == (60, 100)
    assert runs["score-matching"]["cost_accurate_labels"] == 60
    assert runs["no-bias-weights"]["gamma"] is None  # uniform weights: no gamma search
    # no-finetune reuses ASTEROID's finished bias and pretraining stages instead of training them again
    reused = runs["no-finetune"]["stage_seconds"]
    assert "finetune_g2" not in reused and reused["pretrain_g2"] == runs["asteroid"]["stage_seconds"]["pretrain_g2"]
    assert [s["method"] for s in doc["skipped"]] == ["delta-ml"] and "paired labels" in doc["skipped"][0]["why"]
    report = (out / "report.md").read_text()
    assert "`delta-ml` at 60ccsd_r2 seed 0 was not run: Delta-ML needs paired labels" in report


def test_the_methods_table_decides_what_each_run_trains_on() -> None:
    from acquire.compare.methods import METHODS, label, selected, train_config
    from acquire.compare.runner import plan_runs
    from acquire.compare.runs import make_plans

    everything = CompareSettings("md17:ethanol/ccsd(t)", "md17:ethanol/dft", budgets=("60ccsd",), ratios=(2.0,),
                                 validation=5, ablations=True, unlabeled=True)
    assert selected(everything) == [m for m in METHODS if m != "standard-energies"]  # only with --energy-share
    assert selected(CompareSettings("a", "b")) == ["standard", "asteroid"]
    (plan,) = make_plans(everything, None).values()
    runs = {r.method: r for r in plan_runs(everything, make_plans(everything, None))}
    assert (runs["standard"].n_accurate, runs["standard"].n_inaccurate) == (plan.standard.count, 0)
    assert (runs["asteroid"].n_accurate, runs["asteroid"].n_inaccurate) == (plan.accurate.count, plan.inaccurate.count)
    assert runs["score-matching"].n_unlabeled == plan.inaccurate.count and runs["score-matching"].n_inaccurate == 0
    assert runs["no-finetune"].cost_accurate_labels == runs["asteroid"].cost_accurate_labels
    assert not train_config(everything, "no-finetune", 0).finetune and train_config(everything, "asteroid", 0).finetune
    assert not train_config(everything, "no-bias-weights", 0).bias_weights
    from dataclasses import replace

    paper = replace(everything, preset="paper")  # a preset with uniform weights: --gammas turns bias weights on
    assert not train_config(paper, "asteroid", 0).bias_weights
    assert train_config(replace(paper, gammas=(0.5,)), "asteroid", 0).bias_weights
    assert not train_config(replace(paper, gammas=(0.5,)), "no-bias-weights", 0).bias_weights
    from acquire.compare.runner import _identity  # identical runs are trained once and shared

    def identity(run, settings):
        return _identity(run, train_config(settings, run.method, run.seed))

    paper_runs = {r.method: r for r in plan_runs(paper, make_plans(paper, None))}
    assert identity(paper_runs["asteroid"], paper) == identity(paper_runs["no-bias-weights"], paper)
    assert identity(runs["asteroid"], everything) != identity(runs["no-bias-weights"], everything)
    assert identity(paper_runs["asteroid"], paper) != identity(paper_runs["no-finetune"], paper)
    assert label("asteroid") == "ASTEROID" and label("unknown") == "unknown"


def test_a_test_source_is_the_whole_test_set_and_its_twins_never_train(tmp_path: Path) -> None:
    assert acquire("label", "md17:ethanol/ccsd(t)", "--labeler", "md17:ethanol/ccsd(t)", "--n", "30", "--store",
                   "held_out.db", cwd=tmp_path).returncode == 0
    result = acquire("compare", "--dataset", "ethanol", "--test-source", "held_out.db:md17:ethanol/ccsd(t)",
                     "--budget", "60ccsd", "--ratio", "2", "--validation", "5", "--preset", "tiny", "--out", "c",
                     "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    split = json.loads((tmp_path / "c/splits/seed0.json").read_text())
    assert split["test"] == list(range(1000, 1030)) and split["params"]["own_rows"] == 1000
    positions = load_md17("ethanol", "ccsd(t)").positions
    used = split["train_order"] + split["validation"]
    assert max(used) < 1000 and len(used) == 65
    test_positions = load_source(str(tmp_path / "held_out.db") + ":md17:ethanol/ccsd(t)").positions
    assert (match_frames(positions[used], test_positions) < 0).all()  # no twin of a test frame trains
    metrics = json.loads((tmp_path / "c/metrics.json").read_text())
    assert metrics["splits"]["0"]["n_test"] == 30
    assert "held out: not split from the accurate labels" in (tmp_path / "c/report.md").read_text()


@pytest.mark.parametrize("field, value, message", [
    ("seeds", 0, "--seeds"), ("threads", 0, "--threads"), ("jobs", 0, "--jobs"), ("validation", 0, "selected on it"),
    ("test", 0, "--test"), ("label_workers", 0, "--workers"), ("budgets", (), "at least one budget"),
    ("budgets", ("60ccsd", "60ccsd"), "twice"), ("budgets", ("2cpu-h",), "accurate labels"),
    ("ratios", (1.0,), "> 1"), ("ratios", (), "at least one ratio"), ("gammas", (0.0,), "positive"),
    ("gammas", (), "positive"), ("inaccurate_share", "lots", "share"), ("dataset", "water", "unknown dataset"),
    ("pool", "pool.xyz", "computing"), ("reuse", ("nowhere",), "not a comparison's output folder"),
    ("accurate", " ", "label source"), ("training", {"rho": -1}, "rho"),
])
def test_compare_settings_reject_every_out_of_range_field(field: str, value, message: str) -> None:
    from acquire.errors import AcquireError
    from budget.errors import BudgetError
    from train.errors import ConfigError

    good = CompareSettings("md17:ethanol/ccsd(t)", "md17:ethanol/dft", budgets=("60ccsd",), ratios=(2.0,))
    with pytest.raises((AcquireError, BudgetError, ConfigError), match=message):
        CompareSettings(**{**good.__dict__, field: value})


def test_ratio_auto_is_pinned_by_the_run_not_by_the_parser(tmp_path: Path) -> None:
    import argparse

    from acquire.cli.compare import add_arguments, settings_from
    from acquire.compare.auto_ratio import resolved_ratios

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--dataset", "ethanol", "--inaccurate", "xtb:gfn2", "--ratio", "auto",
                              "--out", str(tmp_path / "c")])
    args.training, args.quiet, args.json = {}, True, False
    settings = settings_from(args)
    assert settings.ratios == ("auto",) and not (tmp_path / "c").exists()  # nothing written while parsing
    resolved = resolved_ratios(settings, tmp_path / "c", load_source(settings.accurate))
    pin = json.loads((tmp_path / "c" / "ratio_auto.json").read_text())
    assert resolved.ratios == (pin["ratio"],) and pin["ratio"] > 1
