"""`acquire run` end to end on a tiny case, rerun resumes; `acquire status` and `acquire export`."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from ase.io import read
from conftest import acquire

RUN = ["run", "--molecule", "O", "--budget", "4ccsd", "--ratio", "10", "--accurate", "pyscf:hf/sto-3g",
       "--inaccurate", "xtb:gfn2", "--inaccurate-share", "25%", "--validation", "2", "--method", "normal-modes",
       "--out", "r", "--workers", "1", "--preset", "tiny", "--json"]



def test_run_plans_samples_labels_and_resumes(tmp_path) -> None:
    first = acquire(*RUN, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    targets = {t["spec"]: t["target"] for t in summary["plan"]}
    assert targets == {"pyscf:hf/sto-3g": 3 + 2, "xtb:gfn2": 10}  # 3 train + 2 validation; 1 ccsd-equiv x 10
    assert [r["done"] for r in summary["labeling"]] == [5, 10]
    checks = {c["spec"]: c for c in summary["cost_check"]["labelers"]}  # measured vs planned cost per label
    assert set(checks) == {"pyscf:hf/sto-3g", "xtb:gfn2"} and checks["xtb:gfn2"]["labels"] == 10
    assert checks["xtb:gfn2"]["planned_s_per_label"] == pytest.approx(checks["pyscf:hf/sto-3g"]["planned_s_per_label"] / 10)
    assert summary["cost_check"]["ratio"]["planned"] == 10
    plan = json.loads((tmp_path / "r" / "plan.json").read_text())["plan"]
    estimates = {row["part"]: row for row in summary["cost_check"]["estimates"]}
    assert estimates["labeling"]["estimated_s"] == pytest.approx(  # the 2 uncharged validation labels on both sides
        plan["costs"]["labeling"]["cpu_s"] + plan["validation"]["cost_cpu_s"])
    assert {"plan.json", "pool.extxyz", "labels.db", "run.json", "models"} <= {p.name for p in (tmp_path / "r").iterdir()}
    training = summary["training"]
    assert training["asteroid"]["validation"]["force_mae"] > 0
    assert (tmp_path / "r" / "models" / "asteroid" / "model.pt").exists()
    assert (tmp_path / "r" / "models" / "standard" / "model.pt").exists()
    records = {name: (tmp_path / "r" / name).read_bytes() for name in ("run.json", "models/asteroid/model.pt")}
    began = time.monotonic()
    again = json.loads(acquire(*RUN, cwd=tmp_path).stdout)
    assert time.monotonic() - began < 20  # a finished run returns (it retrained and rewrote for 30 s)
    assert again == summary and [r["done"] for r in again["labeling"]] == [5, 10]  # the first run's records
    assert records == {name: (tmp_path / "r" / name).read_bytes() for name in records}
    changed = acquire(*[a if a != "normal-modes" else "md" for a in RUN], cwd=tmp_path)
    assert changed.returncode == 2 and "other settings" in changed.stderr

    status = json.loads(acquire("status", "--store", "r/labels.db", "--json", cwd=tmp_path).stdout)
    by_spec = {r["labeler"]: r for r in status["labelers"]}
    assert by_spec["xtb:gfn2"]["done"] == by_spec["xtb:gfn2"]["planned"] == 10
    assert by_spec["pyscf:hf/sto-3g"]["failed"] == 0 and by_spec["pyscf:hf/sto-3g"]["cpu_h"] > 0

    exported = acquire("export", "--store", "r/labels.db", "--labeler", "pyscf:hf/sto-3g", "--out", "hf.extxyz", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    frames = read(tmp_path / "hf.extxyz", ":")
    assert len(frames) == 5 and frames[0].info["config_type"].lower() == "hf/sto-3g"
    assert np.allclose(frames[0].arrays["REF_forces"], frames[0].get_forces())
    missing = acquire("export", "--store", "r/labels.db", "--labeler", "xtb:gfn1", "--out", "x.extxyz", cwd=tmp_path)
    assert missing.returncode == 2 and "no done labels" in missing.stderr
    _export_weights_and_isolated_atoms(tmp_path)


def _export_weights_and_isolated_atoms(tmp_path) -> None:
    """`acquire export --weights` takes acquire run's own models/asteroid (it needed split.json), also a
    folder written before the pool geometries were recorded; --isolated-atoms adds mace-torch's E0 frames."""
    from labelers import get_labeler
    from train.bias import bias_weights

    args = ("export", "--store", "r/labels.db", "--labeler", "xtb:gfn2", "--weights", "r/models/asteroid",
            "--isolated-atoms", "--out", "xtb.extxyz", "--json")
    weighted = acquire(*args, cwd=tmp_path)
    assert weighted.returncode == 0, weighted.stderr
    frames = read(tmp_path / "xtb.extxyz", ":")
    data = [f for f in frames if f.info["config_type"] != "IsolatedAtom"]
    lone = {f.get_chemical_symbols()[0]: f for f in frames if f.info["config_type"] == "IsolatedAtom"}
    metrics = json.loads((tmp_path / "r" / "models" / "asteroid" / "metrics.json").read_text())
    expected = bias_weights(np.load(tmp_path / "r" / "models" / "asteroid" / "bias.npy"), metrics["gamma"])
    assert len(data) == 10 and sorted(f.info["config_weight"] for f in data) == pytest.approx(sorted(expected))
    assert set(lone) == {"H", "O"} and all(len(f) == 1 for f in lone.values())
    xtb = get_labeler("xtb:gfn2")
    hydrogen = lone["H"].copy()
    hydrogen.info["spin"] = 1
    assert lone["H"].info["REF_energy"] == pytest.approx(xtb.label(hydrogen).energy)
    assert json.loads(weighted.stdout)["isolated_atoms_eV"]["O"] == pytest.approx(lone["O"].info["REF_energy"])
    (tmp_path / "r" / "models" / "asteroid" / "bias_geometries.npz").unlink()  # a folder from before they were kept
    again = acquire(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [f.info["config_weight"] for f in read(tmp_path / "xtb.extxyz", ":")[:10]] == pytest.approx(
        [f.info["config_weight"] for f in data])


@pytest.mark.parametrize("selection", ["diverse", "uncertain"])
def test_run_selection_chooses_the_accurate_frames_once_and_keeps_validation_random(tmp_path, selection: str) -> None:
    args = [*RUN, "--selection", selection]
    first = acquire(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    done = {r["spec"]: r["done"] for r in summary["labeling"]}
    assert done == {"pyscf:hf/sto-3g": 5, "xtb:gfn2": 10}
    choice = json.loads((tmp_path / "r" / "selection.json").read_text())
    assert choice["selection"] == selection and len(choice["validation"]) == 2 and len(choice["train"]) == 3
    rows = list(range(15))
    random_order = [int(i) for i in np.random.default_rng(0).permutation(15)]
    assert choice["validation"] == random_order[:2]  # the seeded random draw, whatever the selection
    assert not set(choice["train"]) & set(choice["validation"])
    if selection == "diverse":  # every non-validation frame gets exactly one label
        assert sorted(choice["train"] + choice["inaccurate"] + choice["validation"]) == rows
    else:  # cheap labels on the random split's frames; the committee ranked every non-validation frame
        assert choice["inaccurate"] == random_order[5:] and choice["info"]["candidates"] == 13
    assert summary["training"]["asteroid"]["validation"]["force_mae"] > 0
    again = json.loads(acquire(*args, cwd=tmp_path).stdout)
    assert again == summary  # finished: its records returned as they were, nothing bought again
    assert json.loads((tmp_path / "r" / "selection.json").read_text()) == choice


def test_cheap_labels_computed_while_sampling_are_stored_not_recomputed(tmp_path) -> None:
    """MD with xtb:gfn2 evaluated every kept frame; the run's xtb:gfn2 labels are those evaluations."""
    from acquire.labeling.pools import read_pool
    from acquire.labeling.reuse import ENERGY
    from acquire.labeling.store import LabelStore, config_hash

    args = [a if a != "normal-modes" else "md" for a in RUN] + ["--equilibration", "20", "--interval", "5", "--no-train"]
    result = acquire(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pool = {config_hash(f): f.info[ENERGY] for f in read_pool(str(tmp_path / "r" / "pool.extxyz"))}
    stored = LabelStore(tmp_path / "r" / "labels.db").done_atoms("xtb:gfn2")
    assert len(stored) == 10
    assert all(a.get_potential_energy() == pool[config_hash(a)] for a in stored)  # the very numbers, not a recomputation
    cheap = next(r for r in json.loads(result.stdout)["labeling"] if r["spec"] == "xtb:gfn2")
    assert cheap["done"] == 10 and cheap["executor"] == "reused"
