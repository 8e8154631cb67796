"""`acquire run --energy-share`: accurate energy-only labels bought for a new molecule (water, HF/STO-3G
force labels, its `;forces=false` energies, GFN2-xTB cheap labels), on extra sampled frames, charged
to the budget, never bought twice, and trained on by ASTEROID and the standard model beside it."""
from __future__ import annotations

import json

import pytest
from conftest import acquire

ACCURATE, ENERGY, CHEAP = "pyscf:hf/sto-3g", "pyscf:hf/sto-3g;forces=false", "xtb:gfn2"
BASE = ["run", "--molecule", "O", "--budget", "5ccsd", "--ratio", "10", "--accurate", ACCURATE, "--inaccurate", CHEAP,
        "--inaccurate-share", "1ccsd", "--validation", "2", "--method", "normal-modes", "--out", "r",
        "--workers", "1", "--preset", "tiny"]
RUN = [*BASE, "--energy-share", "1ccsd", "--energy-ratio", "4", "--json"]


def test_run_buys_energy_only_labels_once_and_trains_on_them(tmp_path) -> None:
    from acquire.labeling.store import LabelStore

    first = acquire(*RUN, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    recorded = json.loads((tmp_path / "r" / "plan.json").read_text())
    plan = recorded["plan"]
    # 5 units: 1 on energies (4 at 1/4 each), then 1 on 10 xtb labels, 3 force labels
    assert (plan["accurate"]["count"], plan["energy_only"]["count"], plan["inaccurate"]["count"]) == (3, 4, 10)
    assert plan["energy_only"]["spec"] == ENERGY and recorded["settings"]["energy_labeler"] == ENERGY
    spent = sum(plan[k]["cost_accurate_labels"] for k in ("accurate", "energy_only", "inaccurate"))
    assert spent <= 5 + 1e-9
    assert {t["spec"]: t["target"] for t in summary["plan"]} == {ACCURATE: 5, CHEAP: 10, ENERGY: 4}

    store = LabelStore(tmp_path / "r" / "labels.db")
    energies, forces = store.arrays(ENERGY), store.arrays(ACCURATE)
    assert len(energies) == 4 and energies.forces is None  # energies only, as planned
    others = set(forces.config_hashes) | set(store.arrays(CHEAP).config_hashes)
    assert not set(energies.config_hashes) & others  # frames of their own, sampled beside the pool
    ledger = store.spent_s(declared=True)  # what the budget ledger charged, plan costs per label
    assert ledger <= recorded["ledger_cpu_s"] * (1 + 1e-9)
    assert ledger == pytest.approx(plan["accurate"]["cost_cpu_s"] + plan["validation"]["cost_cpu_s"]
                                   + plan["energy_only"]["cost_cpu_s"] + plan["inaccurate"]["cost_cpu_s"])

    for model in ("asteroid", "standard"):
        counts = json.loads((tmp_path / "r" / "models" / model / "metrics.json").read_text())["counts"]
        assert counts["energy_only"] == 4 and counts["accurate"] == 3
    assert summary["training"]["energy_only"] == 4 and summary["energy_only"]["count"] == 4

    (tmp_path / "r" / "run.json").unlink()  # as if killed after labeling: the rerun goes through the engine
    again = acquire(*RUN, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    reports = {r["spec"]: r for r in json.loads(again.stdout)["labeling"]}
    assert {s: (r["already_done"], r["done"]) for s, r in reports.items()} == {ACCURATE: (5, 0), CHEAP: (10, 0),
                                                                               ENERGY: (4, 0)}
    assert store.spent_s(declared=True) == pytest.approx(ledger)  # nothing computed or charged twice
    dropped = acquire(*BASE, cwd=tmp_path)  # the same folder without the energy share is another run
    assert dropped.returncode == 2 and "other settings (energy_labeler, energy_ratio, energy_share)" in dropped.stderr


def test_dry_run_shows_the_energy_only_count_and_cost(tmp_path) -> None:
    result = acquire(*BASE, "--energy-share", "20%", "--dry-run", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    energies = json.loads(result.stdout)["plan"]["energy_only"]
    assert energies["count"] >= 1 and energies["cost_cpu_s"] == pytest.approx(energies["count"] * energies["label_cost_s"])
    assert energies["spec"] == ENERGY and energies["cost_origin"]["origin"] == "declared"  # --energy-ratio auto
    assert "accurate energy-only cost per label" in result.stderr and not (tmp_path / "r").exists()


@pytest.mark.parametrize("extra, message", [
    (["--energy-share", "6ccsd", "--energy-ratio", "4"], "more than the 5 accurate-label units"),
    (["--energy-share", "1ccsd", "--energy-labeler", ACCURATE], "computes forces"),
    (["--energy-share", "1ccsd", "--energy-labeler", "pyscf:pbe/sto-3g;forces=false"], "is dft"),
    (["--energy-ratio", "4"], "give --energy-share too"),
    (["--energy-share", "5ccsd", "--energy-ratio", "4", "--inaccurate-share", "0%"], "no accurate force labels"),
])
def test_bad_energy_options_are_one_line_errors(tmp_path, extra: list[str], message: str) -> None:
    result = acquire(*BASE, *extra, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.startswith("acquire run: error:") and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "plan.json").exists()  # nothing planned, sampled or bought


def test_an_accurate_labeler_without_an_energy_only_variant_needs_an_energy_labeler(tmp_path) -> None:
    args = [a if a != ACCURATE else "xtb:gfn1" for a in BASE]
    result = acquire(*args, "--energy-share", "1ccsd", "--energy-ratio", "4", cwd=tmp_path)
    assert result.returncode == 2 and "give --energy-labeler SPEC" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
