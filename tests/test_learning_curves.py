"""Learning-curve fit and the optimal split it predicts."""
import math

import pytest

from budget.errors import BudgetError
from budget.learning_curves import best_split, fit_learning_curve


def synthetic(a=10.0, alpha=0.5, delta=0.4):
    return [(na, ni, a * na**-alpha * (1 + ni / na) ** -delta) for na in (100, 200, 400, 800) for ni in (0, 1000, 4000)]


def test_fit_recovers_exact_parameters():
    curve = fit_learning_curve(synthetic())
    assert curve.alpha == pytest.approx(0.5) and curve.delta == pytest.approx(0.4) and curve.a == pytest.approx(10.0)
    assert curve.rms_log_residual < 1e-9


def test_best_split_respects_budget_and_beats_all_accurate():
    curve = fit_learning_curve(synthetic())
    n_a, n_i, predicted = best_split(curve, 250, 40)
    assert n_a + n_i / 40 <= 250 + 1e-9
    assert predicted <= curve.predict(250, 0)
    assert 0 < n_a < 250 and n_i > 0


def test_useless_inaccurate_data_gives_all_accurate():
    curve = fit_learning_curve(synthetic(delta=0.0))
    n_a, n_i, _ = best_split(curve, 250, 40)
    assert (n_a, n_i) == (250, 0)


def test_too_few_points_and_bad_ratio_are_refused():
    with pytest.raises(BudgetError):
        fit_learning_curve([(200, 0, 0.3), (200, 0, 0.31)])
    with pytest.raises(BudgetError):
        best_split(fit_learning_curve(synthetic()), 250, math.nan)


def test_a_cap_on_inaccurate_labels_moves_the_rest_of_the_budget_to_accurate_labels():
    """A pool of 2000 frames where the curve wants more: the capped optimal plan buys the whole pool
    and spends what is left on accurate labels."""
    from budget import plan
    from budget.full_plan import Capped
    from budget.planner import OptimalSplit

    policy = OptimalSplit(fit_learning_curve(synthetic()))
    free = plan("250ccsd", 40, policy=policy)
    assert free.inaccurate.count > 2000
    capped = plan("250ccsd", 40, policy=Capped(policy, 2000))
    assert capped.inaccurate.count == 2000 and capped.accurate.count == 250 - 2000 // 40
