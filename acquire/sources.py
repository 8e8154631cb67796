"""Training-data sources: turn a SRC string into labelled arrays (Å, eV, eV/Å).

SRC forms:
- a labeler spec of existing labels: `md17:ethanol/ccsd(t)`, `md17:ethanol/dft`, `cached:PATH`
  (served by `labelers`);
- a label store and a labeler spec: `labels.db:pyscf:ccsd(t)/cc-pvdz` (the done labels of that
  spec in the store, read back with `LabelStore.arrays`);
- either, ending in `@FORMULA`: only that molecule of a source holding several
  (`others.db:xtb:gfn2@CH4O`: the methanol labels).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from acquire.errors import AcquireError
from labelers.datasets import ArrayDataset

if TYPE_CHECKING:
    from train import Frames
    from train.models import Potential


class SourceError(AcquireError):
    """A training-data source string cannot be resolved to labels."""


# Labelled frames of one molecule (positions Å, numbers, energies eV, forces eV/Å): the same
# container the embedded data sets use.
SourceArrays = ArrayDataset


def split_source(src: str) -> tuple[Path | None, str]:
    """(store path or None, labeler spec) of a SRC string."""
    head, sep, rest = src.partition(":")
    if sep and (head.endswith(".db") or Path(head).expanduser().is_file()):
        if not rest:
            raise SourceError(f"source {src!r} names a store but no labeler spec (STORE.db:SPEC)")
        return Path(head).expanduser(), rest
    return None, src


_FORMULA = re.compile(r"@((?:[A-Z][a-z]?\d*)+)$")


def molecule_filter(src: str) -> tuple[str, str | None]:
    """(SRC without its `@FORMULA` suffix, the formula in Hill order) or (SRC, None)."""
    from ase.formula import Formula

    match = _FORMULA.search(src.strip())
    if match is None:
        return src.strip(), None
    return src.strip()[:match.start()], Formula(match.group(1)).format("hill")


def load_source(src: str) -> SourceArrays:
    """The labelled arrays a SRC string names (see the module docstring)."""
    if molecule_filter(src)[1] is not None:
        return load_molecules(src)[0]
    store_path, spec = split_source(src.strip())
    if store_path is not None:
        from acquire.labeling.store import open_store

        if not store_path.exists():
            raise SourceError(f"label store not found: {store_path}")
        arrays = open_store(store_path, create=False).arrays(spec)
        return SourceArrays(src, arrays.positions, arrays.numbers, arrays.energies, arrays.forces)
    from labelers.registry import get_labeler

    labeler = get_labeler(spec)
    groups = getattr(labeler, "groups", None)
    if groups is not None and len(groups) > 1:
        raise SourceError(f"{spec!r} holds {len(groups)} molecules; a training source holds one: "
                          "write one file per molecule")
    data = groups[0] if groups else None
    if data is None:
        raise SourceError(
            f"{spec!r} computes labels instead of serving existing ones; label a pool into a store "
            f"first (acquire label ... --store labels.db) and use labels.db:{spec}"
        )
    return SourceArrays(labeler.spec, np.asarray(data.positions), np.asarray(data.numbers),
                        np.asarray(data.energies), np.asarray(data.forces))


def load_molecules(src: str) -> list[SourceArrays]:
    """The labelled arrays a SRC string names, one per molecule: a store or a cached labeler may hold
    several (for pretraining across molecules); any other SRC is one. A SRC ending in `@FORMULA`
    keeps that molecule only."""
    bare, formula = molecule_filter(src)
    if formula is None:
        return _molecules(src)
    found = _molecules(bare)
    kept = [SourceArrays(src, d.positions, d.numbers, d.energies, d.forces) for d in found if formula_of(d) == formula]
    if not kept:
        raise SourceError(f"{bare!r} holds no {formula} labels; its molecules: "
                          + ", ".join(sorted({formula_of(d) for d in found})))
    return kept


def _molecules(src: str) -> list[SourceArrays]:
    store_path, spec = split_source(src.strip())
    if store_path is not None:
        from acquire.labeling.store import open_store

        if not store_path.exists():
            raise SourceError(f"label store not found: {store_path}")
        return [SourceArrays(src, a.positions, a.numbers, a.energies, a.forces)
                for a in open_store(store_path, create=False).arrays_by_molecule(spec)]
    from labelers.registry import get_labeler

    groups = getattr(get_labeler(spec), "groups", None)
    if groups is None or len(groups) < 2:
        return [load_source(src)]
    return [SourceArrays(src, np.asarray(g.positions), np.asarray(g.numbers), np.asarray(g.energies),
                         np.asarray(g.forces)) for g in groups]


def formula_of(data: SourceArrays) -> str:
    """The chemical formula of a source's molecule, e.g. 'C2H6O'."""
    from ase.symbols import Symbols

    numbers = np.asarray(data.numbers)
    return Symbols(numbers[0] if numbers.ndim == 2 else numbers).get_chemical_formula()


def extra_frames(sources: list[str], accurate: SourceArrays, test: list[int]) -> list[Frames]:
    """Cheap labels of further molecules for ASTEROID's pretraining (`--extra-inaccurate`): every
    molecule of every SRC as one Frames; frames that are a test geometry of `accurate` are dropped."""
    return frames_outside(load_extra(sources), accurate, test)


def load_extra(sources: list[str] | tuple[str, ...]) -> tuple[tuple[str, SourceArrays], ...]:
    """(SRC, arrays) of every molecule of every SRC (`--extra-inaccurate`), loaded once."""
    return tuple((src, data) for src in sources for data in load_molecules(src))


def frames_outside(molecules: tuple[tuple[str, SourceArrays], ...], accurate: SourceArrays,
                   test: list[int]) -> list[Frames]:
    """Each (SRC, arrays) of `load_extra` as one Frames, without the frames that are a test geometry of `accurate`."""
    from labelers.datasets import match_frames

    parts = []
    for src, data in molecules:
        keep = np.arange(len(data.positions))
        if np.shape(data.positions)[1:] == np.shape(accurate.positions)[1:] and len(test):
            keep = keep[match_frames(np.asarray(data.positions), np.asarray(accurate.positions)[test]) < 0]
        if len(keep):
            parts.append(frames_of(data, keep.tolist(), f"{src} {formula_of(data)}"))
    return parts


def followed_by(data: SourceArrays, more: SourceArrays) -> SourceArrays:
    """`data` with the rows of `more` (the same molecule) appended after its own, under `data`'s name."""
    return SourceArrays(data.name, np.concatenate([data.positions, more.positions]), data.numbers,
                        np.concatenate([data.energies, more.energies]), np.concatenate([data.forces, more.forces]))


def frames_of(data: SourceArrays, index: list[int], name: str, labelled: bool = True) -> Frames:
    """Rows `index` of `data` as `train.Frames` (unlabeled: positions only; energy-only labels: no forces)."""
    import train

    idx = np.asarray(index, dtype=int)
    forces = None if data.forces is None else data.forces[idx]
    frames = train.Frames(data.positions[idx], data.numbers, data.energies[idx], forces, name=name)
    return frames if labelled else frames.unlabeled()


def energy_only_frames(src: str | None, accurate: SourceArrays) -> Frames | None:
    """Every label of `src` as energy-only `train.Frames` (forces dropped), or None without a SRC;
    raises SourceError when they are not of `accurate`'s molecule."""
    from dataclasses import replace

    if not src:
        return None
    labels = load_source(src)
    if formula_of(labels) != formula_of(accurate):
        raise SourceError(f"--energy-only {src}: its labels are of {formula_of(labels)}, "
                          f"the accurate labels of {formula_of(accurate)}")
    return replace(frames_of(labels, range(len(labels)), "energy_only"), forces=None)


def with_forces(data: SourceArrays, option: str) -> SourceArrays:
    """`data`, checked to carry forces (raises SourceError naming `option` for energy-only labels)."""
    if data.forces is None:
        raise SourceError(f"{option} {data.name}: these labels are energies only (no forces); "
                          "give them to --energy-only")
    return data


def predict_frames(model: Potential, frames: Frames) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n,) eV and forces (n, k, 3) eV/Å a trained model predicts for `frames`."""
    from train.evaluate import predict
    from train.graph import to_data_list

    dtype = next(model.parameters()).dtype
    return predict(model, to_data_list(frames, float(model.net.cutoff), dtype))
