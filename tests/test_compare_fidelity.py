"""`acquire compare` with a computing inaccurate labeler (xTB on a few pool frames): the pool is
labelled into OUT/labels.db and resumed without relabeling, `--ratio auto` is the labelers' cost
ratio, a plan larger than the pool is capped and its leftover reported; `--selection` orders are
deterministic and never take validation or test frames."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write

from acquire.cli.main import main
from acquire.compare.seed_splits import SeedSplit, SplitNeeds, seed_split, training_order
from acquire.compare.settings import CompareError
from acquire.labeling.store import LabelStore
from acquire.selection.diverse import farthest_points, inverse_distances
from acquire.sources import load_source
from acquire.splits import split_accurate
from labelers import get_labeler
from labelers.datasets import load_md17, match_frames

XTB = "xtb:gfn2"


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory) -> Path:
    """12 MD17 DFT geometries that are no CCSD(T) frame (so none is a test twin)."""
    dft, ccsd = load_md17("ethanol", "dft"), load_md17("ethanol", "ccsd(t)")
    free = np.flatnonzero(match_frames(dft.positions, ccsd.positions) < 0)[:12]
    frames = [f for i, f in enumerate(get_labeler("md17:ethanol/dft").frames()) if i in set(free.tolist())]
    path = tmp_path_factory.mktemp("pool") / "pool.extxyz"
    write(str(path), frames)
    return path


def compare(out: Path, pool: Path, seeds: int = 1) -> int:
    return main(["compare", "--dataset", "ethanol", "--inaccurate", XTB, "--pool", str(pool), "--ratio", "auto",
                 "--budget", "60ccsd", "--preset", "tiny", "--validation", "5", "--test", "20", "--workers", "2",
                 "--seeds", str(seeds), "--quiet", "--out", str(out)])


def done_rows(store: Path) -> dict[str, float]:
    """config hash -> CPU-core seconds of every done xTB label in the store."""
    db = LabelStore(store)
    return {r.config_hash: r.cost_s for r in db._db.select(labeler=XTB, status="done")}


def test_computing_labeler_labels_the_pool_resumes_and_reports_the_leftover(tmp_path: Path, pool_file: Path,
                                                                            monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # an interrupted earlier run: 4 pool frames already labelled into the comparison's store
    assert main(["label", str(pool_file), "--labeler", XTB, "--n", "4", "--store", str(out / "labels.db"),
                 "--workers", "1", "--no-progress", "--json"]) == 0
    before = done_rows(out / "labels.db")
    assert len(before) == 4
    assert compare(out, pool_file) == 0
    doc = json.loads((out / "metrics.json").read_text())
    (key, plan), = doc["plans"].items()
    ccsd = load_source("md17:ethanol/ccsd(t)")
    atoms = Atoms(numbers=ccsd.numbers, positions=ccsd.positions[0])
    assert plan["ratio"] == pytest.approx(get_labeler("md17:ethanol/ccsd(t)").cost(atoms) / get_labeler(XTB).cost(atoms))
    # the plan buys 50 accurate-label units of xTB labels: far more than 12 frames; capped and reported
    assert doc["pool"]["usable_frames"] == 12
    limited = doc["pool"]["limited"][key]
    assert limited["pool_frames"] == 12 and limited["planned_inaccurate"] == plan["inaccurate"]["count"] > 12
    assert limited["unspent_inaccurate"] == plan["inaccurate"]["count"] - 12
    assert limited["fitting_share"] == f"{math.ceil(12 / plan['ratio'])}ccsd"  # what would spend it on accurate labels
    runs = {r["method"]: r for r in doc["runs"]}
    assert runs["asteroid"]["n_inaccurate"] == 12
    assert runs["asteroid"]["cost_accurate_labels"] == pytest.approx(plan["accurate"]["count"] + 12 / plan["ratio"])
    assert "left over, not spent" in (out / "report.md").read_text()
    after = done_rows(out / "labels.db")
    assert len(after) == 12 and all(after[h] == cost for h, cost in before.items())  # the 4 were not relabelled
    split = SeedSplit.load(out / "splits" / "seed0.json")
    assert sorted(split.pool_order) == list(range(12)) and split.needs.pool == str(pool_file)
    assert json.loads((out / "ratio_auto.json").read_text())["ratio"] == plan["ratio"]  # pinned to this folder
    # rerun after xTB was calibrated at 10x its declared cost: the folder's ratio stays, nothing is
    # labelled or trained again (a fresh folder would plan with the calibration)
    from labelers.calibration import Calibration, store

    xtb = get_labeler(XTB)
    seconds = 10 * xtb.cost(atoms)
    store(Calibration(XTB, atoms.get_chemical_formula(), xtb.cost_size(atoms), seconds, seconds, seconds, 3),
          tmp_path / "calibration.json")
    monkeypatch.setenv("ASTEROID_CALIBRATION", str(tmp_path / "calibration.json"))
    assert get_labeler(XTB).cost(atoms) == pytest.approx(seconds)
    assert compare(out, pool_file) == 0
    assert done_rows(out / "labels.db") == after
    rerun = json.loads((out / "metrics.json").read_text())
    assert {r["status"] for r in rerun["runs"]} == {"resumed-finished"}
    assert [r["test"] for r in rerun["runs"]] == [r["test"] for r in doc["runs"]]
    assert rerun["plans"] == doc["plans"]


def test_more_seeds_later_leave_the_earlier_seeds_frames_and_runs(tmp_path: Path, pool_file: Path) -> None:
    """A pool with one geometry that seed 0 trains on but seed 1 tests on: seed 1 may draw one frame
    fewer. Adding seed 1 later keeps seed 0's pool frames and resumes its runs."""
    ccsd = load_md17("ethanol", "ccsd(t)")
    train0, _, _ = split_accurate(ccsd.positions, 60, 5, 0)
    train1, val1, _ = split_accurate(ccsd.positions, 60, 5, 1)
    shared = next(i for i in train0 if i not in train1 + val1)
    frames = read(str(pool_file), ":")[:10] + [Atoms(numbers=ccsd.numbers, positions=ccsd.positions[shared])]
    pool = tmp_path / "pool.extxyz"
    write(str(pool), frames)
    out = tmp_path / "out"
    assert compare(out, pool, seeds=1) == 0
    first = {(r["method"], r["seed"]): r for r in json.loads((out / "metrics.json").read_text())["runs"]}
    assert first["asteroid", 0]["n_inaccurate"] == 11
    assert compare(out, pool, seeds=2) == 0
    doc = json.loads((out / "metrics.json").read_text())
    runs = {(r["method"], r["seed"]): r for r in doc["runs"]}
    assert doc["pool"]["usable_frames_by_seed"] == {"0": 11, "1": 10}
    assert runs["asteroid", 0]["n_inaccurate"] == 11 and runs["asteroid", 1]["n_inaccurate"] == 10
    assert runs["asteroid", 0]["status"] == runs["standard", 0]["status"] == "resumed-finished"
    assert runs["asteroid", 0]["test"] == first["asteroid", 0]["test"]


@pytest.mark.parametrize("args, message", [
    (["--dataset", "ethanol", "--pool", "x.extxyz"], "--pool goes with a computing --inaccurate"),
    (["--accurate", "md17:ethanol/ccsd(t)", "--inaccurate", XTB], "give --pool FILE"),
    (["--dataset", "ethanol", "--inaccurate", "md17:ethanol/ccsd(t)", "--ratio", "auto"], "must cost more"),
])
def test_bad_pool_and_ratio_options_are_one_line_errors(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    assert main(["compare", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def params(selection: str) -> SplitNeeds:
    return SplitNeeds("md17:ethanol/ccsd(t)", "md17:ethanol/dft", validation=50, test_cap=None, n_train=200,
                      n_inaccurate=100, selection=selection)


@pytest.mark.parametrize("selection", ["random", "diverse", "uncertain"])
def test_selection_is_deterministic_and_never_takes_validation_or_test_frames(tmp_path: Path, selection: str) -> None:
    accurate, inaccurate = load_source("md17:ethanol/ccsd(t)"), load_source("md17:ethanol/dft")
    first = seed_split(tmp_path / "a", 0, accurate, inaccurate, params(selection))
    again = seed_split(tmp_path / "b", 0, accurate, inaccurate, params(selection))
    other = seed_split(tmp_path / "c", 1, accurate, inaccurate, params(selection))
    assert first.train_order == again.train_order and first.train_order != other.train_order
    for split in (first, other):
        assert len(split.train_order) == len(set(split.train_order)) == 200
        assert not set(split.train_order) & (set(split.validation) | set(split.test))
    assert first.needs.selection == selection


def test_a_split_stored_with_one_selection_refuses_another(tmp_path: Path) -> None:
    accurate, inaccurate = load_source("md17:ethanol/ccsd(t)"), load_source("md17:ethanol/dft")
    seed_split(tmp_path, 0, accurate, inaccurate, params("random"))
    with pytest.raises(CompareError, match="--selection"):
        seed_split(tmp_path, 0, accurate, inaccurate, params("diverse"))


def test_diverse_order_spreads_the_first_frames_wider_than_random() -> None:
    positions = load_md17("ethanol", "ccsd(t)").positions
    candidates = list(range(0, 600))
    diverse = farthest_points(candidates, positions, seed=0)
    assert sorted(diverse) == candidates
    random = training_order(candidates, positions, "random", seed=0)

    def closest_pair(order: list[int]) -> float:
        features = inverse_distances(positions[order[:20]])
        gaps = np.linalg.norm(features[:, None] - features[None], axis=-1)
        return float(gaps[np.triu_indices(20, 1)].min())

    assert closest_pair(diverse) > 1.3 * closest_pair(random)  # measured 0.129 vs 0.082 (seed 0)


def test_a_test_cap_leaves_non_random_selections_every_non_test_frame(tmp_path: Path) -> None:
    accurate, inaccurate = load_source("md17:ethanol/ccsd(t)"), load_source("md17:ethanol/dft")
    capped = replace(params("diverse"), test_cap=300)
    diverse = seed_split(tmp_path / "d", 0, accurate, inaccurate, capped)
    random = seed_split(tmp_path / "r", 0, accurate, inaccurate, replace(capped, selection="random"))
    assert random.test == diverse.test and random.validation == diverse.validation  # same frames to score on
    assert len(random.train_order) == 200 and set(random.train_order) < set(diverse.train_order)
    assert len(diverse.train_order) > 600  # 1000 frames - 50 validation - 300 test (duplicates of test excepted)
    assert not set(diverse.train_order) & (set(diverse.validation) | set(diverse.test))
    assert (match_frames(accurate.positions[diverse.train_order], accurate.positions[diverse.test]) < 0).all()


def test_committee_disagreement_is_the_mean_per_atom_force_spread() -> None:
    from acquire.selection.committee import disagreement
    from train.evaluate import KCAL_MOL

    same = np.ones((3, 2, 4, 3))
    assert np.allclose(disagreement(same), 0)
    spread = same.copy()
    spread[0, 1, :, 0], spread[1, 1, :, 0] = 1 + KCAL_MOL, 1 - KCAL_MOL  # one component, std sqrt(2/3) kcal/mol/Å
    assert np.allclose(disagreement(spread), [0, np.sqrt(2 / 3)])


def test_a_committee_member_trains_a_third_of_the_pretraining_epochs_without_the_step_floor() -> None:
    from acquire.selection.committee import member_config
    from train import preset

    quick = preset("quick")
    member = member_config(quick, seed=1, member=2)
    assert quick.pretrain.min_steps > 0 and member.standard.min_steps == 0
    assert member.standard.epochs == quick.pretrain.epochs // 3 and member.seed == 5
    assert member.standard.epochs_for(500) == member.standard.epochs  # 500 frames: no more epochs than asked


def test_uncertain_selection_ranks_by_a_committee_deterministically_and_once(tmp_path: Path) -> None:
    from acquire.compare.committee_order import rank_by_committee
    from train import preset

    accurate, inaccurate = load_source("md17:ethanol/ccsd(t)"), load_source("md17:ethanol/dft")
    unc = replace(params("uncertain"), test_cap=300)
    config = preset("tiny")
    ranked = []
    for out in (tmp_path / "a", tmp_path / "b"):
        split = seed_split(out, 0, accurate, inaccurate, unc)
        assert not split.ordered and not SeedSplit.load(out / "splits" / "seed0.json").ordered
        ranked.append(rank_by_committee(split, accurate, inaccurate, 100, config, out, lambda line: None))
    first, again = ranked
    assert first.train_order == again.train_order and first.ordered
    assert sorted(first.train_order) == sorted(split.train_order) and first.train_order != split.train_order
    assert not set(first.train_order) & (set(first.validation) | set(first.test))
    stored = seed_split(tmp_path / "a", 0, accurate, inaccurate, unc)  # a rerun reads the ranked order back
    assert stored.ordered and stored.train_order == first.train_order
    info = stored.selection_info
    assert info["members"] == 3 and info["candidates"] == len(first.train_order)
    assert info["disagreement_kcal_mol_A"]["max"] > info["disagreement_kcal_mol_A"]["min"] > 0


def test_a_committee_needs_two_cheap_labels_and_says_so() -> None:
    from acquire.errors import AcquireError
    from acquire.selection.committee import member_frames

    train, val = member_frames(list(range(10)), seed=0, member=0)
    assert len(train) == 8 and len(val) == 2 and not set(train) & set(val)
    with pytest.raises(AcquireError, match="at least 2 cheap labels"):
        member_frames([7], seed=0, member=0)


def test_the_leftover_names_a_smaller_share_only_where_one_buys_more_accurate_labels() -> None:
    from acquire.compare.runner import limit_to_pool
    from budget import parse_share, plan

    lines: list[str] = []
    paper = {"250ccsd_r1000": plan("250ccsd", 1000, policy=parse_share("50ccsd"))}  # 50000 cheap labels
    assert limit_to_pool([], paper, {0: 3993}, lines.append)["250ccsd_r1000"]["fitting_share"] == "4ccsd"
    filled = {"350ccsd_r40": plan("350ccsd", 40, policy=parse_share("100ccsd"))}  # 4000: already the smallest share
    limited = limit_to_pool([], filled, {0: 3993}, lines.append)["350ccsd_r40"]
    assert limited["unspent_inaccurate"] == 7 and "fitting_share" not in limited
    assert "--inaccurate-share 4ccsd" in lines[0] and "--inaccurate-share" not in lines[1]
