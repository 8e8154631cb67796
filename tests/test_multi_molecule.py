"""Pretraining across molecules (the paper's Table 5): a store holding several molecules' cheap
labels loads as one source per molecule, ASTEROID pretrains on them beside the target molecule's
(bias weights on the target's frames only), and a model that cannot encode an element is refused
before any training."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from ase.io import write

from acquire.cli.main import main
from acquire.labeling.store import StoreError, open_store
from acquire.molecules import load_molecule
from acquire.sources import SourceError, formula_of, load_molecules, load_source
from labelers.calibration import distorted_copies

XTB = "xtb:gfn2"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """GFN2-xTB labels of 8 methanol and 8 methylamine geometries in one store."""
    root = tmp_path_factory.mktemp("multi")
    db = root / "others.db"
    for smiles in ("CO", "CN"):
        frames = distorted_copies(load_molecule(smiles), 8, stdev=0.05, seed=1)
        pool = root / f"{smiles}.extxyz"
        write(str(pool), frames)
        assert main(["label", str(pool), "--labeler", XTB, "--store", str(db), "--workers", "1",
                     "--no-progress", "--json"]) == 0
    return db


def test_a_store_with_two_molecules_loads_as_one_source_each(store: Path) -> None:
    molecules = load_molecules(f"{store}:{XTB}")
    assert sorted(formula_of(m) for m in molecules) == ["CH4O", "CH5N"]
    assert all(len(m.energies) == 8 and np.isfinite(m.forces).all() for m in molecules)
    with pytest.raises(StoreError, match="2 molecules"):
        open_store(store, create=False).arrays(XTB)


def test_formula_suffix_picks_one_molecule_of_a_store(store: Path) -> None:
    (methanol,) = load_molecules(f"{store}:{XTB}@CH3OH")  # any order of the formula
    assert formula_of(methanol) == "CH4O" and len(methanol.energies) == 8
    assert formula_of(load_source(f"{store}:{XTB}@CH5N")) == "CH5N"  # one molecule: a training source
    with pytest.raises(SourceError, match="holds no C2H6O labels; its molecules: CH4O, CH5N"):
        load_molecules(f"{store}:{XTB}@C2H6O")


def train(out: Path, *extra: str) -> int:
    return main(["train", "--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", "md17:ethanol/dft",
                 "--inaccurate-count", "20", "--train", "12", "--validation", "6", "--test", "10",
                 "--preset", "tiny", "--gammas", "1", *extra, "--out", str(out), "--quiet", "--json"])


def test_asteroid_pretrains_on_several_molecules_with_bias_weights_on_the_target_only(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "multi"
    assert train(out, "--extra-inaccurate", f"{store}:{XTB}") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["counts"]["inaccurate"] == 36
    molecules = {m["formula"]: m for m in metrics["inaccurate_molecules"]}
    assert molecules["C2H6O"] == {"formula": "C2H6O", "frames": 20, "bias_weighted": True}
    assert molecules["CH4O"]["frames"] == molecules["CH5N"]["frames"] == 8
    assert not molecules["CH4O"]["bias_weighted"]
    bias = np.load(out / "bias.npy")
    assert np.isfinite(bias[:20]).all() and np.isnan(bias[20:]).all()
    assert np.isfinite(metrics["test"]["force_mae"])
    assert json.loads((out / "split.json").read_text())["extra_inaccurate"] == [f"{store}:{XTB}"]


@pytest.mark.parametrize("extra, message", [
    (["--extra-inaccurate", "{store}:" + XTB, "--config", "{recipe}"],
     "encodes elements [1, 6, 8] but the data also hold [7]"),
    (["--extra-inaccurate", "{store}:" + XTB, "--method", "standard"], "goes with --method asteroid"),
])
def test_what_a_model_cannot_encode_is_refused_before_training(tmp_path: Path, store: Path, capsys,
                                                                extra: list[str], message: str) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("training: {model: {name: mace, hidden: 8, elements: [1, 6, 8]}}\n")
    args = [a.format(store=store, recipe=recipe) for a in extra]
    assert train(tmp_path / "refused", *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "refused" / "stages" / "bias.pt").exists()


def test_compare_pretrains_asteroid_on_other_molecules_and_says_they_are_not_charged(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "compare"
    assert main(["compare", "--dataset", "ethanol", "--budget", "60ccsd", "--ratio", "1.2", "--preset", "tiny",
                 "--validation", "5", "--test", "20", "--extra-inaccurate", f"{store}:{XTB}", "--quiet",
                 "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    runs = {r["method"]: r for r in doc["runs"]}
    assert runs["asteroid"]["counts"]["inaccurate"] == runs["asteroid"]["n_inaccurate"] + 16
    assert "inaccurate_molecules" not in runs["standard"]
    assert doc["settings"]["extra_inaccurate"] == [f"{store}:{XTB}"]
    assert "not charged to the budget" in (out / "report.md").read_text()
