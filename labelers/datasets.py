"""The embedded MD17 ethanol data sets as arrays in ASE units (Å, eV, eV/Å).

Files (see `labelers/data/PROVENANCE.md` for sources, checksums and citations):
- `ccsd(t)`: 1000 CCSD(T)/cc-pVTZ frames (sGDML MD17@CCSD(T) training half). Two geometries appear
  twice (280 = 736, 773 = 826); `duplicate_groups` exposes them so splits keep each on one side.
- `dft`: the original MD17 PBE+vdW-TS frames, the 2000 first MD steps and 2000 random frames,
  3997 unique geometries after dropping frames that repeat (up to rotation).
MD17 stores kcal/mol and kcal/mol/Å; the conversion to eV happens here, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from ase import units

from labelers.errors import SpecError

KCAL_MOL = units.kcal / units.mol  # eV per kcal/mol

_FILES = {
    ("ethanol", "ccsd(t)"): ("ethanol_ccsd_t-train.npz",),
    ("ethanol", "dft"): ("md17_ethanol_first2000.npz", "md17_ethanol_sample2000.npz"),
}
METHODS = {
    ("ethanol", "ccsd(t)"): "CCSD(T)/cc-pVTZ (Psi4), sGDML MD17@CCSD(T)",
    ("ethanol", "dft"): "PBE+vdW-TS (FHI-aims), original MD17",
}
CITATIONS = {
    ("ethanol", "ccsd(t)"): "Chmiela et al., Nat. Commun. 9, 3887 (2018)",
    ("ethanol", "dft"): "Chmiela et al., Sci. Adv. 3, e1603015 (2017)",
}


@dataclass(frozen=True)
class ArrayDataset:
    """Frames of one molecule: positions (n, k, 3) Å, numbers (k,), energies (n,) eV, forces (n, k, 3)
    eV/Å (None for energy-only labels)."""

    name: str
    positions: np.ndarray
    numbers: np.ndarray
    energies: np.ndarray
    forces: np.ndarray | None

    def __len__(self) -> int:
        return len(self.energies)


def distance_vectors(positions: np.ndarray) -> np.ndarray:
    """Rotation- and translation-invariant descriptors of frames (n, k, 3): their interatomic distances (Å)."""
    positions = np.asarray(positions, dtype=float)
    i, j = np.triu_indices(positions.shape[1], k=1)
    return np.linalg.norm(positions[:, i] - positions[:, j], axis=-1)


def geometry_keys(positions: np.ndarray, decimals: int = 4) -> list[bytes]:
    """Hashable keys of frames from rounded interatomic distances. Exact-copy detection only: two
    frames a rounding boundary apart get different keys; use `match_frames` for tolerant matching."""
    return [np.round(d, decimals).tobytes() for d in distance_vectors(positions)]


def match_frames(query: np.ndarray, reference: np.ndarray, tolerance: float = 1e-3) -> np.ndarray:
    """For each query frame, the index of a reference frame with the same geometry up to rotation and
    translation (every interatomic distance within `tolerance` Å), or -1."""
    from scipy.spatial import cKDTree

    tree = cKDTree(distance_vectors(reference))
    distance, index = tree.query(distance_vectors(query), k=1, p=np.inf, distance_upper_bound=tolerance)
    return np.where(np.isfinite(distance), index, -1)


def duplicate_groups(positions: np.ndarray, tolerance: float = 1e-3) -> list[list[int]]:
    """Groups (size > 1) of frame indices that are the same geometry up to rotation/translation."""
    return [g for g in geometry_groups(positions, tolerance) if len(g) > 1]


def geometry_groups(positions: np.ndarray, tolerance: float = 1e-3) -> list[list[int]]:
    """All frames grouped by geometry (every group, singletons included), in first-index order."""
    from scipy.spatial import cKDTree

    n = len(positions)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in cKDTree(distance_vectors(positions)).query_pairs(tolerance, p=np.inf):
        parent[root(max(a, b))] = root(min(a, b))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


@cache
def load_md17(molecule: str, level: str) -> ArrayDataset:
    """Embedded MD17 frames, e.g. `load_md17('ethanol', 'ccsd(t)')`; the DFT set is de-duplicated."""
    key = (molecule.lower(), level.lower())
    if key not in _FILES:
        known = ", ".join(f"{m}/{lvl}" for m, lvl in _FILES)
        raise SpecError(f"no embedded data set {molecule}/{level}; embedded: {known}")
    parts = []
    for filename in _FILES[key]:
        with resources.files("labelers.data").joinpath(filename).open("rb") as handle:
            data = np.load(handle)
            parts.append({k: np.asarray(data[k]) for k in ("R", "z", "E", "F")})
    positions = np.concatenate([p["R"] for p in parts]).astype(float)
    energies = np.concatenate([p["E"].reshape(-1) for p in parts]).astype(float) * KCAL_MOL
    forces = np.concatenate([p["F"] for p in parts]).astype(float) * KCAL_MOL
    numbers = parts[0]["z"].astype(int)
    if len(parts) > 1:  # merge files: keep the first frame of each geometry
        keep = [group[0] for group in geometry_groups(positions)]
        positions, energies, forces = positions[keep], energies[keep], forces[keep]
    for array in (positions, energies, forces):
        array.setflags(write=False)
    return ArrayDataset(f"md17:{key[0]}/{key[1]}", positions, numbers, energies, forces)
