"""The molecule a trained model knows (recorded in its model file when it was trained).

`acquire md` and `acquire scan` start from it when no molecule is given, refuse a molecule with an
element the model never saw (PaiNN, EGNN and TensorNet encode any element up to their max_z, so
they would predict it without a word), and warn when the formula differs from the training data's.
Model files written before the record existed have none: they are neither checked nor a default.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ase import Atoms

from acquire.errors import AcquireError

FALLBACK_MOLECULE = "ethanol"  # the start geometry when no trained model says which molecule it knows


def trained_records(labelled: Sequence[tuple[str, str]]) -> dict[str, dict]:
    """name -> the molecule record of each trained model among (name, MODEL) pairs (labeler specs and
    model files without a record are left out)."""
    from train.checkpoint import trained_molecule

    records = {}
    for name, model in labelled:
        if Path(model).expanduser().exists():
            record = trained_molecule(Path(model).expanduser())
            if record is not None:
                records[name] = record
    return records


def default_molecule(records: dict[str, dict]) -> tuple[Atoms, str] | None:
    """The first trained model's own molecule (its training data's first geometry) and a name for it."""
    for name, record in records.items():
        atoms = Atoms(numbers=record["numbers"], positions=record["positions_A"])
        return atoms, f"{atoms.get_chemical_formula()} (the training geometry of {name})"
    return None


def check_molecule(records: dict[str, dict], molecules: Sequence[Atoms],
                   warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> None:
    """Refuse a molecule with an element a trained model never saw; warn for a formula the model was
    not trained on (elements it knows, another molecule: an extrapolation the user may intend)."""
    for formula, molecule in {m.get_chemical_formula(): m for m in molecules}.items():
        for name, record in records.items():
            unseen = sorted(set(molecule.numbers.tolist()) - set(record["elements"]))
            if unseen:
                raise AcquireError(f"{name} was trained on {', '.join(record['formulas'])} (elements "
                                   f"{_symbols(record['elements'])}); {formula} has {_symbols(unseen)}, which it never saw")
            if formula not in record["formulas"]:
                warn(f"warning: {name} was trained on {', '.join(record['formulas'])}, not {formula}; "
                     "its predictions there are an extrapolation")


def _symbols(numbers: Sequence[int]) -> str:
    from ase.data import chemical_symbols

    return " ".join(chemical_symbols[z] for z in numbers)
