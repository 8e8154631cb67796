"""ASE calculators for MD from what a user names: a trained model file/run directory, or a
labeler spec (`xtb:gfn2`, `pyscf:pbe/def2-svp`) whose labels drive the dynamics.

`LabelerCalculator` wraps any `labelers.Labeler`: energy eV, forces eV/Å, as ASE expects.
Nothing heavy is imported here at module load; torch comes with a trained model only.
"""
from __future__ import annotations

import re
from pathlib import Path

from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from acquire.errors import AcquireError


class ModelSourceError(AcquireError):
    """A MODEL argument that is neither an existing model file/run directory nor a labeler spec."""


class LabelerCalculator(Calculator):
    """An ASE calculator whose energy (eV) and forces (eV/Å) are labels of a `Labeler`.

    Labeler failures (SCF not converged, non-finite numbers) propagate as `LabelerError`.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, labeler, **kwargs) -> None:
        super().__init__(**kwargs)
        self.labeler = labeler
        self.last_label = None  # the last Label computed (sampling keeps it as the frame's label)

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        label = self.last_label = self.labeler.label(self.atoms)
        if label.forces is None:
            raise ModelSourceError(f"{self.labeler.spec} gives energies only; MD needs forces")
        self.results = {"energy": label.energy, "free_energy": label.energy, "forces": label.forces}


def is_labeler_spec(text: str) -> bool:
    """True if `text` names a registered labeler backend (`xtb:gfn2`), not a path."""
    from labelers import BACKENDS

    backend, sep, rest = text.partition(":")
    return bool(sep) and backend.strip().lower() in BACKENDS and bool(rest.strip())


def calculator_for(model: str, threads: int = 1, device: str = "cpu") -> Calculator:
    """The ASE calculator for a MODEL argument: a trained model (file or run directory, on `device`:
    cpu, cuda or auto) or a labeler spec."""
    path = Path(model).expanduser()
    if path.exists():
        from train import load_calculator

        return load_calculator(path, threads=threads, device=device)
    if is_labeler_spec(model):
        from labelers import get_labeler

        return LabelerCalculator(get_labeler(model))
    raise ModelSourceError(
        f"MODEL {model!r} is neither a trained model (file or run directory) nor a labeler spec such as xtb:gfn2"
    )


NAME = r"(?!\.+$)[A-Za-z0-9._+-]+"  # it names files and folders: never . or .. (or only dots)


def model_labels(models: list[str]) -> list[tuple[str, str]]:
    """(name, model) for MODEL arguments: `NAME=MODEL` names one; otherwise the shortest ending of
    the run directory's path that tells it apart from the others (`asteroid/seed0`, written
    `asteroid_seed0`); a name still taken gets `-2`, `-3`."""
    named = []
    for text in models:
        head, sep, rest = text.partition("=")
        if sep and re.fullmatch(NAME, head):
            named.append((head, rest))
            continue
        if sep and ":" not in head and not Path(text).expanduser().exists():  # meant as a name
            raise ModelSourceError(f"{text}: a NAME in NAME=MODEL may hold letters, digits and . _ + - only, "
                                   "and is not made of dots alone (it names files and folders)")
        named.append((None, text))
    parts = {model: _parts(model) for _, model in named}
    depth = {model: 1 for model in parts}
    while True:
        ending = {m: tuple(p[-depth[m]:]) for m, p in parts.items()}
        clash = [m for m in parts if sum(e == ending[m] for e in ending.values()) > 1 and depth[m] < len(parts[m])]
        if not clash:
            break
        for m in clash:
            depth[m] += 1
    out, seen = [], {}
    for name, model in named:
        name = name or safe_name("_".join(ending[model]))
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}-{seen[name]}", model))
    return out


def _parts(model: str) -> list[str]:
    """The path components that name a MODEL (the run directory's, not model.pt), or the spec."""
    path = Path(model).expanduser()
    if not path.exists():
        return [model]
    if path.is_file():
        path = path.parent if path.name == "model.pt" else path.with_suffix("")
    return [p for p in path.resolve().parts if p not in ("/", "")] or [model]


def safe_name(name: str) -> str:
    """`name` as a file-name-safe model name (what `model_labels` calls a labeler spec: xtb:gfn2 -> xtb_gfn2);
    a name of dots only (`.`, `..`) would name a folder above, so it becomes `model`."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("_")
    return name if name.strip(".") else "model"
