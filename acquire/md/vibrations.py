"""The fastest vibration of a force field at a geometry, and what it means for a time step.

Velocity Verlet (the core of ASE's Langevin) advances a harmonic mode of angular frequency ω by
the phase θ per step, cos θ = 1 - (ωΔt)²/2. It is linearly unstable for ωΔt ≥ 2, and its low-order
nonlinear resonances, where θ = 2π/n, sit at ωΔt = 2 sin(π/n): √3 for n = 3 and √2 for n = 4
(Schlick, Mandziuk, Skeel and Srinivas, J. Comput. Phys. 140, 1 (1998)). Near them an anharmonic
bond stretch can take up energy from the integrator step after step until it breaks; the fastest
mode of a molecule with an X-H bond (an O-H stretch: about 3700 cm⁻¹, 9 fs) reaches √2 at about
2 fs. The check here gives that number for each force field, so that an MD study can tell an
integrator limit from a force-field fault.

The Hessian is the central difference of the forces (6 N force calls), mass-weighted with the
masses the dynamics uses. Units: Å, eV, amu inside; cm⁻¹ and fs out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator

SPEED_OF_LIGHT_CM_PER_FS = 2.99792458e-5
LIMITS = ((2.0, "unstable"), (math.sqrt(3.0), "3:1"), (math.sqrt(2.0), "4:1"))  # ωΔt: linear limit, resonances
NEAR_4_1 = 0.9  # of √2: where runs start to fail (ethanol's O-H stretch at 500 K loses 2 of 20 at 0.93 √2,
                # benchmarks/results/md_ethanol_resonance)


@dataclass(frozen=True)
class FastestMode:
    """The highest harmonic frequency at a geometry and the atoms that move most in it."""

    wavenumber_cm1: float
    period_fs: float
    atoms: tuple[int, int]  # the atom that moves most in the mode and its nearest neighbour
    label: str  # e.g. "O2-H8"

    @property
    def angular_frequency_per_fs(self) -> float:
        return 2.0 * math.pi / self.period_fs

    def omega_dt(self, timestep_fs: float) -> float:
        """ωΔt: Verlet is linearly stable below 2; resonances of order 3 and 4 at √3 and √2."""
        return self.angular_frequency_per_fs * timestep_fs


BELOW = "below the low-order resonances"  # the verdict of a time step that meets no limit


def verdict(omega_dt: float) -> str:
    """Where ωΔt stands against Verlet's stability limit and low-order resonances."""
    for threshold, name in LIMITS:
        if omega_dt >= threshold:
            return "linearly unstable" if name == "unstable" else f"at or past the {name} resonance"
    if omega_dt >= NEAR_4_1 * math.sqrt(2.0):
        return "within 10 % of the 4:1 resonance"
    return BELOW


def fastest_mode(calculator: Calculator, atoms: Atoms, masses: np.ndarray | None = None,
                 delta_A: float = 0.005) -> FastestMode:
    """The fastest harmonic mode of `calculator` at `atoms` (any geometry: the local curvature).

    `masses` (amu, one per atom) default to the atoms' own; `delta_A` is the finite-difference step."""
    n = len(atoms)
    if n < 2:
        raise ValueError("a vibration needs at least two atoms")
    masses = atoms.get_masses() if masses is None else np.asarray(masses, dtype=float)
    work = Atoms(numbers=atoms.numbers, positions=atoms.get_positions())
    work.calc = calculator
    start = work.get_positions()
    hessian = np.empty((3 * n, 3 * n))
    for k in range(3 * n):
        forces = []
        for sign in (1.0, -1.0):
            moved = start.copy()
            moved[k // 3, k % 3] += sign * delta_A
            work.set_positions(moved)
            forces.append(work.get_forces().ravel())
        hessian[k] = -(forces[0] - forces[1]) / (2.0 * delta_A)  # eV/Å²
    hessian = 0.5 * (hessian + hessian.T)
    inverse_sqrt_mass = 1.0 / np.sqrt(np.repeat(masses, 3))
    eigenvalues, vectors = np.linalg.eigh(hessian * np.outer(inverse_sqrt_mass, inverse_sqrt_mass))
    omega_per_fs = math.sqrt(max(float(eigenvalues[-1]), 0.0)) * units.fs  # ASE time unit -> fs
    mover = int((vectors[:, -1] ** 2).reshape(n, 3).sum(axis=1).argmax())
    distances = np.linalg.norm(start - start[mover], axis=1)
    distances[mover] = np.inf
    partner = int(distances.argmin())
    pair = (min(mover, partner), max(mover, partner))
    symbols = atoms.get_chemical_symbols()
    return FastestMode(
        wavenumber_cm1=omega_per_fs / (2.0 * math.pi * SPEED_OF_LIGHT_CM_PER_FS),
        period_fs=2.0 * math.pi / omega_per_fs if omega_per_fs > 0 else math.inf,
        atoms=pair, label="-".join(f"{symbols[i]}{i}" for i in pair),
    )
