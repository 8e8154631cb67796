"""Accurate energy-only labels in `acquire plan` and `acquire run` (`--energy-share`, `--energy-ratio`,
`--energy-labeler`): the energy labeler's spec (default: the accurate pyscf spec with `;forces=false`),
their price as the planner's `budget.EnergyLabels`, and the check that the labeler a run buys them
with gives energies only, of the accurate labeler's kind."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acquire.errors import AcquireError

if TYPE_CHECKING:
    from ase import Atoms

    from budget import EnergyLabels
    from labelers.base import Labeler
    from labelers.costs import CostEstimate


@dataclass(frozen=True)
class EnergyPricing:
    """The energy-only labels the options ask for: the planner's price (None: none asked for), the
    energy labeler's spec (None: none known), its cost estimate (None: priced by --energy-ratio) and
    the labeler, checked (None: not asked for)."""

    labels: EnergyLabels | None = None
    spec: str | None = None
    estimate: CostEstimate | None = None
    labeler: Labeler | None = None


def energy_spec(accurate: str, given: str | None) -> str | None:
    """The energy-only labeler: `given`, else the accurate pyscf spec without forces (None if not pyscf)."""
    if given:
        return given
    if not accurate.strip().lower().startswith("pyscf:"):
        return None
    return accurate if "forces=false" in accurate.replace(" ", "").lower() else f"{accurate};forces=false"


def _is_auto(ratio: str | float) -> bool:
    return str(ratio).strip().lower() == "auto"


def energy_pricing(share: str | None, ratio: str | float, given: str | None, accurate: str, atoms: Atoms | None,
                   accurate_est: CostEstimate | None, buying_for: Labeler | None = None) -> EnergyPricing:
    """`--energy-share`, `--energy-ratio` (a float, or 'auto': the energy labeler's cost law against
    `accurate_est`) and `--energy-labeler` (`given`) as an EnergyPricing; raises BudgetError for
    options that price nothing or cannot be priced. `buying_for`: the accurate labeler of a run that
    buys the labels; its energy labeler is checked (`energy_labeler`) before it is priced."""
    from budget import BudgetError, energy_labels

    if share is None:
        if given is not None or not _is_auto(ratio):
            raise BudgetError("--energy-ratio and --energy-labeler price energy-only labels: give --energy-share too")
        return EnergyPricing()
    spec = energy_spec(accurate, given)
    labeler = None if buying_for is None else energy_labeler(spec, buying_for)
    if not _is_auto(ratio):
        return EnergyPricing(energy_labels(share, ratio), spec, labeler=labeler)
    if spec is None or atoms is None or accurate_est is None:
        raise BudgetError("--energy-ratio auto prices energy labels from their labeler: give --energy-ratio FLOAT, or "
                          "--molecule with a pyscf --accurate spec (or --energy-labeler SPEC)")
    from acquire.plan_costs import estimate
    from labelers import get_labeler

    cost = estimate(labeler or get_labeler(spec), atoms)
    return EnergyPricing(energy_labels(share, accurate_cost_s=accurate_est.seconds, energy_cost_s=cost.seconds),
                         spec, cost, labeler)


def energy_labeler(spec: str | None, accurate: Labeler) -> Labeler:
    """The labeler `spec` a run buys its energy-only labels with, checked: energies only (no forces),
    of the same family as `accurate` (an energy-only label stands in for an accurate one); AcquireError otherwise."""
    from labelers import get_labeler

    if spec is None:
        raise AcquireError(f"--energy-share: the accurate labeler {accurate.spec} has no energy-only variant "
                           "(only pyscf specs take ;forces=false): give --energy-labeler SPEC")
    labeler = get_labeler(spec)
    if labeler.fidelity.forces:
        raise AcquireError(f"--energy-labeler {labeler.spec} computes forces; give an energy-only labeler "
                           "(a pyscf spec with ;forces=false, or one without gradients such as lno-ccsd(t))")
    if labeler.fidelity.family != accurate.fidelity.family:
        raise AcquireError(f"--energy-labeler {labeler.spec} is {labeler.fidelity.family or 'of another kind'}, the "
                           f"accurate labeler {accurate.spec} is {accurate.fidelity.family or 'not'}: energy-only "
                           "labels are accurate labels without their forces")
    return labeler


def origin_fields(pricing: EnergyPricing) -> dict[str, Any]:
    """A plan document's `energy_only` additions: the labeler's spec and, when known, its cost's origin."""
    from acquire.plan_costs import origin_record

    fields: dict[str, Any] = {"spec": pricing.spec if pricing.labels is not None else None}
    if pricing.estimate is not None:
        fields["cost_origin"] = origin_record(pricing.estimate, pricing.estimate.seconds)
    return fields
