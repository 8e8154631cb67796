"""Per-label costs in the application: each with its origin (declared law, calibrated here, scaled
from another molecule, or from --ratio) for plans, and the check after labeling of the CPU time
actually spent per label against what the plan assumed."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ase import Atoms

OFF_FACTOR = 1.5  # a measured cost per label this far from the plan's (either way) is reported


def estimate(labeler: Any, atoms: "Atoms") -> Any:
    """The labeler's `labelers.costs.CostEstimate` for one label of `atoms`."""
    from labelers.costs import cost_estimate

    return cost_estimate(labeler, atoms)


def origin_record(estimate_: Any | None, label_cost_s: float | None, ratio: float | None = None) -> dict[str, Any] | None:
    """JSON-ready origin of a plan part's cost per label: the estimate's, or 'from --ratio' when the
    cost followed from the accurate one and a given ratio; None when the plan has no CPU costs."""
    if estimate_ is not None:
        return estimate_.as_dict()
    if label_cost_s is None:
        return None
    return {"seconds": label_cost_s, "origin": "ratio", "flags": [],
            "describe": f"accurate cost ÷ the given ratio {ratio:g}" if ratio else "from the given ratio"}


def add_origins(document: dict[str, Any], accurate: Any | None, inaccurate: Any | None) -> dict[str, Any]:
    """Put `cost_origin` into a plan document's parts (accurate, validation, standard: the accurate
    labeler's; inaccurate: its own or the ratio's)."""
    for part in ("accurate", "validation", "standard"):
        document[part]["cost_origin"] = origin_record(accurate, document[part].get("label_cost_s"))
    document["inaccurate"]["cost_origin"] = origin_record(inaccurate, document["inaccurate"].get("label_cost_s"),
                                                          document.get("ratio"))
    return document


def check(spec: str, labels: int, cpu_s: float, planned_s: float | None) -> dict[str, Any] | None:
    """Measured CPU-core seconds per label of one labeling run against the plan's; `off` when they
    differ by more than OFF_FACTOR. None when nothing was labelled or the plan has no cost."""
    if labels < 1 or not planned_s or planned_s <= 0:
        return None
    measured = cpu_s / labels
    factor = measured / planned_s
    off = factor > OFF_FACTOR or factor < 1.0 / OFF_FACTOR
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    message = ""
    if off:
        busy = (f"; the load average is {load:.1f} on {os.cpu_count()} cores, so part of it may be waiting"
                if load is not None and factor > 1 and load > (os.cpu_count() or 1) else "")
        message = (f"{spec}: labels cost {measured:.4g} CPU-s each, the plan assumed {planned_s:.4g} s "
                   f"({factor:.2f}x): the cost ratio the plan used was off{busy}; "
                   f"`acquire calibrate --labeler '{spec}'` measures it")
    return {"spec": spec, "labels": labels, "measured_s_per_label": measured, "planned_s_per_label": planned_s,
            "factor": factor, "off": off, "load_average": load, "message": message}


def ratio_check(checks: list[dict[str, Any] | None], planned_ratio: float) -> dict[str, Any] | None:
    """The accurate ÷ inaccurate ratio the labels actually had, against the plan's (two checks, accurate first)."""
    if len(checks) != 2 or None in checks:
        return None
    accurate, inaccurate = checks
    measured = accurate["measured_s_per_label"] / inaccurate["measured_s_per_label"]
    factor = measured / planned_ratio
    return {"planned": planned_ratio, "measured": measured, "factor": factor,
            "off": factor > OFF_FACTOR or factor < 1.0 / OFF_FACTOR}
