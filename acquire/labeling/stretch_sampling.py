"""Bond-stretched configurations: labelled geometries beyond the bond lengths that thermal sampling
reaches, so that a model learns the wall of a bond instead of extrapolating into it.

MD at 500 K never stretches an O-H bond past about 1.13 Å, and a model trained on such frames puts a
false dissociation barrier of 30-40 kcal/mol just beyond (`acquire scan`): hot or reactive dynamics
that reaches it loses the hydrogen. A few accurate energies of stretched geometries (energy-only
CCSD(T) costs about 1/40 of a force label) teach the rising wall; on ethanol they cost force accuracy
near equilibrium and did not change MD at 2 fs (benchmarks/results/stretch_energies_ethanol/).

`acquire sample --method stretch --molecule pool.extxyz --n 4 --bond O-H --lengths 1.1:1.8:0.1` draws
N bases from a file's frames (seeded) and writes their stretched copies, ready for `acquire label`
with an energy-only labeler (`pyscf:ccsd(t)/cc-pvdz;forces=false`). Each base gives one frame per
length: the moving atom of the bond placed at that length along the bond, every other atom kept
(`acquire.scan.stretched`). Units: Å.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from acquire.errors import AcquireError
from acquire.scan import resolve_bond, stretched

if TYPE_CHECKING:
    from ase import Atoms


def stretch_frames(bases: list[Atoms], bond_text: str, lengths: list[float]) -> list[Atoms]:
    """Every base with the bond `bond_text` (`O-H` or `I,J`, resolved on each base) at every length;
    each frame's `info` records the method, bond, length (Å) and base index. Raises ScanError."""
    frames = []
    for index, base in enumerate(bases):
        bond = resolve_bond(base, bond_text)
        for length in lengths:
            frame = stretched(base, bond, length)
            frame.info = {"method": "stretch", "bond": f"{bond.fixed},{bond.moving}", "length_A": float(length),
                          "base": index}
            frames.append(frame)
    return frames


def draw_bases(frames: list[Atoms], n: int, seed: int) -> list[Atoms]:
    """`n` of `frames`, drawn without replacement by `seed` (all of them, in order, when n equals
    their number); raises AcquireError when there are fewer."""
    import numpy as np

    if not 1 <= n <= len(frames):
        raise AcquireError(f"--n {n}: stretching needs 1 to {len(frames)} base frames (--molecule gives {len(frames)})")
    if n == len(frames):
        return list(frames)
    return [frames[i] for i in sorted(np.random.default_rng(seed).choice(len(frames), size=n, replace=False))]
