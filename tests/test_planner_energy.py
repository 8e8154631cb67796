"""The three-way plan: accurate force labels, accurate energy-only labels and inaccurate labels,
each priced, summing to the budget; the automatic validation size."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget import BudgetError, auto_validation, energy_labels, parse_share, plan


def test_energy_share_is_bought_first_then_the_policy_splits_the_rest() -> None:
    p = plan("250ccsd", 40, energy=energy_labels("50ccsd", 38))
    assert (p.energy_only.count, p.accurate.count, p.inaccurate.count) == (1900, 150, 2000)
    assert p.energy_only.cost_accurate_labels == pytest.approx(50.0)
    assert p.spent.cost_accurate_labels == pytest.approx(250.0) and p.leftover.cost_accurate_labels == pytest.approx(0.0)
    assert p.standard.count == 250 and p.energy_ratio == 38
    assert p.standard_energies is not None and p.standard_energies.count == 200  # same energies, no inaccurate labels
    assert plan("250ccsd", 40).standard_energies is None
    assert "energies" in p.policy_description


def test_energy_price_from_per_label_costs_and_cpu_time() -> None:
    e = energy_labels("20%", accurate_cost_s=576.0, energy_cost_s=15.1)
    assert e.ratio == pytest.approx(576.0 / 15.1)
    p = plan("250ccsd", 40, accurate_cost_s=576.0, energy=e)
    assert p.energy_only.count == math.floor(50.0 * e.ratio + 1e-9)
    assert p.energy_only.label_cost_s == pytest.approx(15.1)
    assert p.energy_only.cost_cpu_s == pytest.approx(p.energy_only.count * 15.1)


def test_all_of_a_budget_on_energies_leaves_no_force_labels() -> None:
    p = plan("125ccsd", 40, policy=parse_share("0%"), energy=energy_labels("125ccsd", 38))
    assert (p.accurate.count, p.inaccurate.count, p.energy_only.count) == (0, 0, 4750)


@pytest.mark.parametrize("kwargs, match", [
    ({"energy": "tenpercent", "ratio": 38}, "energy share"),
    ({"energy": "20%", "ratio": None}, "--energy-ratio"),
    ({"energy": "20%", "ratio": 0.5}, "ratio"),
])
def test_bad_energy_prices_are_one_line_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(BudgetError, match=match) as info:
        energy_labels(kwargs["energy"], kwargs["ratio"])
    assert "\n" not in str(info.value)


@given(st.floats(min_value=1.0, max_value=5000.0), st.floats(min_value=1.5, max_value=500.0),
       st.floats(min_value=1.5, max_value=200.0), st.floats(min_value=0.0, max_value=99.0), st.booleans())
@settings(max_examples=300, deadline=None)
def test_three_way_plan_sums_to_the_budget(budget: float, ratio: float, energy_ratio: float, percent: float,
                                           charge: bool) -> None:
    try:
        p = plan(f"{budget!r}ccsd", ratio, energy=energy_labels(f"{percent!r}%", energy_ratio), charge_validation=charge)
    except BudgetError:
        return
    charged = p.validation.count if charge else 0
    spent = p.accurate.count + p.inaccurate.count / ratio + p.energy_only.count / energy_ratio + charged
    assert spent <= budget + 1e-9
    assert p.spent.cost_accurate_labels == pytest.approx(spent)
    assert p.leftover.cost_accurate_labels == pytest.approx(budget - spent, abs=1e-9)
    # what is left over cannot buy one more force label
    assert p.leftover.cost_accurate_labels < 1.0 + 1.0 / energy_ratio + 1.0 / ratio + 1e-9
    assert p.accurate.count + p.energy_only.count >= 1


@pytest.mark.parametrize("budget, expected", [(1, 1), (5, 1), (30, 6), (100, 20), (250, 50), (4000, 50)])
def test_automatic_validation_is_a_fifth_of_the_force_labels_at_most_50(budget: int, expected: int) -> None:
    assert auto_validation(budget) == expected
    p = plan(f"{budget}ccsd", 40, policy=parse_share("0%"))
    assert p.validation.count == expected <= p.standard.count


def test_validation_never_outnumbers_training_at_a_small_budget() -> None:
    p = plan("30ccsd", 40, policy=parse_share("25%"))
    assert p.validation.count <= p.accurate.count
    assert plan("30ccsd", 40, policy=parse_share("25%"), validation=50).validation.count == 50  # asked for


def test_acquire_plan_shows_and_prices_the_three_kinds() -> None:
    import json
    import subprocess

    from conftest import ENV
    from conftest import acquire as run_acquire

    def plan_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_acquire("plan", *args, env={**ENV, "COLUMNS": "120"}, timeout=60)

    table = plan_cli("--budget", "250ccsd", "--ratio", "40", "--energy-share", "20%", "--energy-ratio", "38")
    assert table.returncode == 0, table.stderr
    assert any("energy-only" in line and "1900" in line for line in table.stdout.splitlines())
    document = json.loads(plan_cli("--budget", "250ccsd", "--ratio", "40", "--energy-share", "50ccsd",
                                   "--energy-ratio", "38", "--json").stdout)
    assert (document["accurate"]["count"], document["energy_only"]["count"], document["inaccurate"]["count"]) == (150, 1900, 2000)
    assert document["energy_ratio"] == 38 and document["standard"]["count"] == 250
    priced = json.loads(plan_cli("--budget", "125ccsd", "--ratio", "auto", "--molecule", "CCO", "--accurate",
                                 "pyscf:ccsd(t)/cc-pvdz", "--inaccurate", "pyscf:pbe/def2-svp", "--energy-share", "20%",
                                 "--json").stdout)
    assert priced["energy_only"]["spec"] == "pyscf:ccsd(t)/cc-pvdz;forces=false"
    assert priced["energy_only"]["label_cost_s"] < priced["accurate"]["label_cost_s"] / 10
    bad = plan_cli("--budget", "250ccsd", "--ratio", "40", "--energy-share", "20%")
    assert bad.returncode == 2 and bad.stderr.startswith("acquire plan: error:") and "--energy-ratio" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
