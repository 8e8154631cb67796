"""Configurations of a molecule for labeling: Langevin MD or normal-mode sampling with a cheap
labeler as the potential (ASE; positions Å, energies eV, temperatures K).

- `langevin_frames`: Maxwell-Boltzmann velocities at T, `equilibration` steps discarded, then one
  frame every `interval` steps (decorrelation), as in MD17 (500 K) but with a cheap potential.
- `normal_mode_frames`: relax (BFGS), Hessian by central differences of the labeler's forces,
  then independent classical harmonic displacements at T: each mode k with mass-weighted
  eigenvalue w_k^2 gets q_k ~ N(0, kT / w_k^2); rigid-body modes (the 6 lowest, 5 if linear) and soft modes
  (w^2 < 1e-4 eV/Å²/amu) are left out. Cheap (6N+relaxation force calls), uncorrelated frames, but harmonic only.
Both are seeded; every frame's `info` records how it was made (method, calculator, T, step, seed).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic.dataclasses import dataclass

from acquire.errors import AcquireError
from train.config import STRICT

if TYPE_CHECKING:  # numpy and ASE are imported where used: the CLI reads the defaults below at start-up
    import numpy as np
    from ase import Atoms

SOFT_MODE = 1e-4  # eV/Å²/amu: mass-weighted Hessian eigenvalues below this are rigid-body/soft modes
Progress = Callable[[int, int], None]  # (done, total)


class SamplingError(AcquireError):
    """Sampling could not make configurations (bad settings, a potential that blew up)."""


@dataclass(frozen=True, config=STRICT)
class SamplingSettings:
    """How frames are made; recorded in every frame. Checked when made (SamplingError)."""

    calculator: str = "xtb:gfn2"
    temperature_K: float = 500.0
    seed: int = 0
    timestep_fs: float = 0.5
    friction_per_fs: float = 0.01
    equilibration: int = 1000
    interval: int = 40

    def __post_init__(self) -> None:
        if not self.temperature_K > 0:
            raise SamplingError(f"--temperature must be > 0 K, got {self.temperature_K}")
        if not self.timestep_fs > 0 or self.equilibration < 0 or self.interval < 1 or not self.friction_per_fs >= 0:
            raise SamplingError("--timestep must be > 0 fs, --equilibration >= 0 steps, --interval >= 1 step")


def _calculator(spec: str):
    from acquire.md.calculators import LabelerCalculator
    from labelers import get_labeler

    return LabelerCalculator(get_labeler(spec))


def _frame(atoms: Atoms, base: Atoms, **info: object) -> Atoms:
    from ase import Atoms

    frame = Atoms(numbers=atoms.numbers, positions=atoms.get_positions())
    frame.info.update({k: v for k, v in base.info.items() if k in ("charge", "spin", "smiles")})
    frame.info.update(info)
    return frame


def langevin_frames(atoms: Atoms, n: int, settings: SamplingSettings, progress: Progress | None = None) -> list[Atoms]:
    """`n` decorrelated frames of Langevin MD at `settings.temperature_K` (module docstring)."""
    import numpy as np
    from ase import Atoms, units
    from ase.constraints import FixCom
    from ase.md import velocitydistribution as velocities
    from ase.md.langevin import Langevin

    if n < 1:
        raise SamplingError(f"--n must be at least 1, got {n}")
    system = Atoms(numbers=atoms.numbers, positions=atoms.positions, info=dict(atoms.info))
    system.calc = _calculator(settings.calculator)
    system.set_constraint(FixCom())
    rng = np.random.default_rng(settings.seed)
    thermalize = getattr(velocities, "thermalize_momenta", None) or velocities.MaxwellBoltzmannDistribution  # ASE >= 3.29
    thermalize(system, temperature_K=settings.temperature_K, rng=rng)
    velocities.Stationary(system)
    velocities.ZeroRotation(system)
    dynamics = Langevin(system, timestep=settings.timestep_fs * units.fs, temperature_K=settings.temperature_K,
                        friction=settings.friction_per_fs / units.fs, rng=rng, fixcm=False)
    total = settings.equilibration + n * settings.interval
    frames: list[Atoms] = []
    for step in range(1, total + 1):
        dynamics.run(1)
        if not np.all(np.isfinite(system.positions)) or np.abs(system.positions).max() > 1e4:
            raise SamplingError(f"MD with {settings.calculator} blew up at step {step}; lower --temperature or --timestep")
        sampled = step - settings.equilibration
        if sampled > 0 and sampled % settings.interval == 0:
            frames.append(_frame(system, atoms, method="langevin", calculator=settings.calculator,
                                 temperature_K=settings.temperature_K, step=step,
                                 time_fs=step * settings.timestep_fs, seed=settings.seed,
                                 source=f"langevin {settings.calculator} {settings.temperature_K:g}K seed {settings.seed} step {step}"))
            _keep_label(system, frames[-1])
        if progress is not None and (step % max(1, min(50, total // 100)) == 0 or step == total):  # >= 100 reports
            progress(step, total)
    return frames


def _keep_label(system: Atoms, frame: Atoms) -> None:
    """The calculator's label of this very geometry on the frame (`acquire.labeling.reuse`): the
    inaccurate labels of a run whose sampling calculator is its inaccurate labeler."""
    import numpy as np

    from acquire.labeling.reuse import keep_label

    calculator = system.calc
    if calculator.last_label is not None and calculator.atoms is not None and np.array_equal(calculator.atoms.positions,
                                                                                         system.positions):
        keep_label(frame, calculator.last_label)


def normal_modes(atoms: Atoms, calculator: str, delta: float = 5e-3, fmax: float = 0.01) -> tuple[Atoms, np.ndarray, np.ndarray]:
    """(relaxed geometry, mass-weighted eigenvalues eV/Å²/amu, eigenvectors (3N, 3N) as columns)."""
    import numpy as np
    from ase import Atoms
    from ase.optimize import BFGS

    relaxed = Atoms(numbers=atoms.numbers, positions=atoms.positions, info=dict(atoms.info))
    relaxed.calc = _calculator(calculator)
    BFGS(relaxed, logfile=None).run(fmax=fmax, steps=500)
    reference = relaxed.positions.copy()
    size = 3 * len(relaxed)
    hessian = np.zeros((size, size))
    for index in range(size):
        atom, axis = divmod(index, 3)
        forces = []
        for sign in (1.0, -1.0):
            moved = reference.copy()
            moved[atom, axis] += sign * delta
            relaxed.positions = moved
            forces.append(relaxed.get_forces().reshape(-1))
        hessian[index] = -(forces[0] - forces[1]) / (2 * delta)
    relaxed.positions = reference
    hessian = 0.5 * (hessian + hessian.T)
    inverse_sqrt_mass = np.repeat(1.0 / np.sqrt(relaxed.get_masses()), 3)
    eigenvalues, vectors = np.linalg.eigh(hessian * np.outer(inverse_sqrt_mass, inverse_sqrt_mass))
    relaxed.calc = None
    return relaxed, eigenvalues, vectors


def normal_mode_frames(atoms: Atoms, n: int, settings: SamplingSettings, progress: Progress | None = None) -> list[Atoms]:
    """`n` harmonic normal-mode samples at `settings.temperature_K` (module docstring)."""
    import numpy as np
    from ase import Atoms, units

    if n < 1:
        raise SamplingError(f"--n must be at least 1, got {n}")
    relaxed, eigenvalues, vectors = normal_modes(atoms, settings.calculator)
    keep = eigenvalues > SOFT_MODE
    keep[: len(eigenvalues) - _vibrations(relaxed)] = False  # the 6 (linear: 5) lowest are rigid-body motion
    if not keep.any():
        raise SamplingError(f"{settings.calculator} gives no vibrational modes for this molecule")
    kt = units.kB * settings.temperature_K
    sigma = np.sqrt(kt / eigenvalues[keep])  # Å·sqrt(amu) per mode
    inverse_sqrt_mass = np.repeat(1.0 / np.sqrt(relaxed.get_masses()), 3)
    rng = np.random.default_rng(settings.seed)
    frames = []
    for i in range(n):
        q = rng.standard_normal(sigma.size) * sigma
        displacement = (vectors[:, keep] @ q * inverse_sqrt_mass).reshape(-1, 3)
        moved = Atoms(numbers=relaxed.numbers, positions=relaxed.positions + displacement)
        frames.append(_frame(moved, atoms, method="normal-modes", calculator=settings.calculator,
                             temperature_K=settings.temperature_K, seed=settings.seed, sample=i,
                             source=f"normal-modes {settings.calculator} {settings.temperature_K:g}K seed {settings.seed} #{i}"))
        if progress is not None and ((i + 1) % 100 == 0 or i + 1 == n):
            progress(i + 1, n)
    return frames


def _vibrations(atoms: Atoms) -> int:
    """Number of vibrational modes: 3N-6, or 3N-5 for a linear molecule (3N-5 = 1 for a diatomic)."""
    import numpy as np

    n = len(atoms)
    if n < 2:
        return 0
    centred = atoms.positions - atoms.positions.mean(axis=0)
    linear = np.linalg.svd(centred, compute_uv=False)[1] < 1e-3
    return 3 * n - (5 if linear else 6)


METHODS = {"md": langevin_frames, "normal-modes": normal_mode_frames}


def sample(atoms: Atoms, n: int, method: str, settings: SamplingSettings, progress: Progress | None = None) -> list[Atoms]:
    """Frames by `method` ('md' or 'normal-modes')."""
    if method not in METHODS:
        raise SamplingError(f"unknown sampling method {method!r}; choose {' or '.join(METHODS)}")
    return METHODS[method](atoms, n, settings, progress)


def write_frames(frames: list[Atoms], path: str) -> None:
    """Write frames as extxyz atomically (a temporary file renamed into place)."""
    from ase.io import write

    from labelers.atomic_files import atomic_path

    with atomic_path(path) as temporary:
        write(str(temporary), frames, format="extxyz")
