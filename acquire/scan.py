"""Bond scans: the energy and the force along one bond as it is compressed and stretched, for trained
models and labelers side by side, with the bond lengths that labelled data sets cover.

A model's energy beyond its training data is an extrapolation; a scan shows where it parts from a
reference (a false dissociation barrier, a soft wall) before MD finds it. Atom J of the bond (I, J)
moves along the I→J direction, every other atom stays at the start geometry. Energies are relative
to each source's own energy at the scanned length nearest the start length (kcal/mol); the force is
the component on J along I→J (kcal/mol/Å, positive pushes J away from I). Units inside: Å, eV, eV/Å.

Near its minimum each curve is summarised by a quintic fit over the points within `FIT_WINDOW_A`
of its lowest point: the force constant k2 = d²E/dr² and the cubic constant k3 = d³E/dr³ of this
one-atom stretch, and their ratio as a Morse exponent a = -k3 / (3 k2) (Å⁻¹; O-H bonds ~2.2-2.6). The
cubic term is what lets velocity Verlet pump a bond near a resonance (`acquire.md.vibrations`), so a
model whose a is far below its reference's is more harmonic than the surface it was trained to match.

Every point a labeler computes is written to `scan.json` as it arrives, and a rerun into the same
folder reads those back: a paid-for label is not computed twice. Trained models are always
re-evaluated (they are cheap, and a run directory may hold a newer model).
"""
from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from acquire.errors import AcquireError
from acquire.molecules import bonded_pairs, load_frames
from labelers.atomic_files import atomic_write_text
from labelers.base import Labeler
from labelers.datasets import KCAL_MOL

FORMAT = "asteroid-ff/scan/1"
FIT_WINDOW_A = 0.2  # bond constants: points within this of a curve's lowest point


class ScanError(AcquireError):
    """A bond, a distance range or an output folder that cannot be scanned."""


@dataclass(frozen=True)
class Bond:
    fixed: int
    moving: int


def parse_distances(text: str, option: str = "--distances") -> list[float]:
    """`START:STOP:STEP` in Å (STOP included) -> the lengths; raises ScanError naming `option`."""
    try:
        start, stop, step = (float(x) for x in text.split(":"))
    except ValueError:
        raise ScanError(f"{option} {text!r}: give START:STOP:STEP in Å, e.g. 0.7:1.8:0.05") from None
    if not 0 < start < stop or step <= 0 or (stop - start) / step > 1000:
        raise ScanError(f"{option} {text!r}: need 0 < START < STOP and 0 < STEP, at most 1000 points")
    return [round(float(r), 6) for r in np.arange(start, stop + step / 2, step)]


def resolve_bond(atoms: Atoms, text: str) -> Bond:
    """`I,J` (0-based atom indices, J moves) or `A-B` (element symbols: the first bonded pair, the B
    atom moves) -> Bond; raises ScanError."""
    n = len(atoms)
    if re.fullmatch(r"\s*\d+\s*,\s*\d+\s*", text):
        i, j = (int(x) for x in text.split(","))
        if i == j or max(i, j) >= n:
            raise ScanError(f"--bond {text!r}: two different atom indices below {n} (0-based)")
        return Bond(i, j)
    match = re.fullmatch(r"\s*([A-Z][a-z]?)\s*-\s*([A-Z][a-z]?)\s*", text)
    if not match:
        raise ScanError(f"--bond {text!r}: give I,J (atom indices, J moves) or element symbols such as O-H")
    first, second = match.groups()
    symbols = atoms.get_chemical_symbols()
    for i, j in bonded_pairs(atoms.numbers, atoms.positions):
        for a, b in ((i, j), (j, i)):
            if (symbols[a], symbols[b]) == (first, second):
                return Bond(a, b)
    raise ScanError(f"--bond {text!r}: no bonded {first}-{second} pair in {atoms.get_chemical_formula()}")


def stretched(atoms: Atoms, bond: Bond, length: float) -> Atoms:
    """A copy of `atoms` with the moving atom placed `length` Å from the fixed one along their bond."""
    moved = atoms.copy()
    direction = moved.positions[bond.moving] - moved.positions[bond.fixed]
    moved.positions[bond.moving] = moved.positions[bond.fixed] + direction / np.linalg.norm(direction) * length
    return moved


def coverage(src: str, bond: Bond) -> dict[str, Any]:
    """Percentiles (Å) of the bond's length over the frames of a data set: a SRC, or a geometry
    file (.xyz/.extxyz, labelled or not: coverage needs geometries only)."""
    from acquire.sources import load_source

    if Path(src).expanduser().is_file():
        positions = np.asarray([frame.positions for frame in load_frames(src)])
    else:
        positions = np.asarray(load_source(src).positions)
    if positions.shape[1] <= max(bond.fixed, bond.moving):
        raise ScanError(f"--coverage {src}: its frames have {positions.shape[1]} atoms, fewer than the bond needs")
    lengths = np.linalg.norm(positions[:, bond.moving] - positions[:, bond.fixed], axis=1)
    levels = (0, 1, 50, 99, 100)
    return {"frames": len(lengths), **{f"p{q}": round(float(v), 4) for q, v in zip(levels, np.percentile(lengths, levels))}}


Progress = Callable[[str], None]


def scan(sources: list[tuple[str, str]], atoms: Atoms, bond: Bond, distances: list[float], coverage_srcs: list[str],
         out: Path, molecule: str, device: str = "cpu", log: Progress = lambda line: None) -> dict[str, Any]:
    """Scan every (name, source) (a trained model or a labeler spec); write `out/scan.json` (labeler
    points as they arrive) and return the document."""
    frames = [stretched(atoms, bond, r) for r in distances]
    start = float(atoms.get_distance(bond.fixed, bond.moving))
    document = {"format": FORMAT, "molecule": molecule, "formula": atoms.get_chemical_formula(),
                "bond": [bond.fixed, bond.moving], "symbols": [atoms[bond.fixed].symbol, atoms[bond.moving].symbol],
                "start_length_A": round(start, 4), "start_positions_A": np.round(atoms.positions, 6).tolist(),
                "distances_A": distances,
                "units": {"energy": "kcal/mol, from the scanned length nearest the start length",
                          "force": "kcal/mol/Å on the moving atom along the bond (positive: away from the fixed atom)",
                          "raw": "eV and eV/Å"},
                "coverage": {src: coverage(src, bond) for src in coverage_srcs}, "sources": {}}
    prepared = [(name, source, _evaluator(source, device)) for name, source in sources]  # a bad MODEL fails here
    earlier = _earlier(out / "scan.json", document)
    origin = int(np.argmin(np.abs(np.asarray(distances) - start)))
    for name, source, evaluator in prepared:
        began = time.process_time()
        save = functools.partial(_save_partial, out, document, name, source)
        raw = _points(evaluator, frames, bond, earlier.get(source, {}) if _is_labeler(evaluator) else {}, save, log, name)
        document["sources"][name] = _curve(source, _is_labeler(evaluator), raw, origin, time.process_time() - began)
        _write(out / "scan.json", document)
    return document


def _evaluator(source: str, device: str) -> Labeler | Calculator:
    """The labeler a spec names (its labels may be energies only), or the ASE calculator of a trained model."""
    from acquire.md.calculators import LabelerCalculator, calculator_for

    calculator = calculator_for(source, device=device)
    return calculator.labeler if isinstance(calculator, LabelerCalculator) else calculator


def _is_labeler(evaluator: Labeler | Calculator) -> bool:
    return isinstance(evaluator, Labeler)


def _earlier(path: Path, document: dict[str, Any]) -> dict[str, dict[float, dict]]:
    """Labeler points of an earlier scan of the same geometry and bond in this folder, by source
    spec and length; ScanError if the folder holds a scan of something else."""
    if not path.exists():
        return {}
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise ScanError(f"{path} exists but cannot be read; give another --out") from None
    positions = np.asarray(old.get("start_positions_A", []), dtype=float)
    same = (old.get("format") == FORMAT and old.get("bond") == document["bond"]
            and positions.shape == np.shape(document["start_positions_A"])
            and np.allclose(positions, document["start_positions_A"], atol=1e-5))
    if not same:
        raise ScanError(f"{path} holds a scan of another geometry or bond; give another --out (its labels are kept)")
    return {curve["source"]: {p["r"]: p for p in curve["points"]}
            for curve in old.get("sources", {}).values() if curve.get("labeler")}


def _points(evaluator: Labeler | Calculator, frames: list[Atoms], bond: Bond, earlier: dict[float, dict],
            save: Callable[[list[dict]], None], log: Progress, name: str) -> list[dict]:
    """Energy (eV) and force along the bond (eV/Å, None for energy-only labels) at each frame; a
    labeler's points are saved as they arrive, and those in `earlier` are reused."""
    from labelers.errors import LabelFailedError

    points: list[dict] = []
    for k, atoms in enumerate(frames):
        r = round(float(atoms.get_distance(bond.fixed, bond.moving)), 6)
        if r in earlier:
            points.append(earlier[r])
            continue
        unit = atoms.positions[bond.moving] - atoms.positions[bond.fixed]
        unit /= np.linalg.norm(unit)
        try:
            if _is_labeler(evaluator):
                label = evaluator.label(atoms)
                energy, forces = label.energy, label.forces
            else:
                atoms.calc = evaluator
                energy, forces = atoms.get_potential_energy(), atoms.get_forces()
            point = {"r": r, "energy_eV": float(energy),
                     "force_eV_A": None if forces is None else float(np.dot(forces[bond.moving], unit))}
        except LabelFailedError as exc:
            point = {"r": r, "energy_eV": None, "force_eV_A": None, "error": str(exc).splitlines()[0]}
        points.append(point)
        if _is_labeler(evaluator):
            save(points)
        log(f"scan {name}: {k + 1}/{len(frames)} points")
    return points


def _save_partial(out: Path, document: dict[str, Any], name: str, source: str, points: list[dict]) -> None:
    partial = {**document, "sources": {**document["sources"], name: {"source": source, "labeler": True,
                                                                     "points": points, "partial": True}}}
    _write(out / "scan.json", partial)


def _curve(source: str, labeler: bool, points: list[dict], origin: int, cpu_s: float) -> dict[str, Any]:
    """A source's points with energies relative to the origin point, in kcal/mol and kcal/mol/Å."""
    zero = points[origin]["energy_eV"]
    energy = [None if p["energy_eV"] is None or zero is None else round((p["energy_eV"] - zero) / KCAL_MOL, 3)
              for p in points]
    force = [None if p["force_eV_A"] is None else round(p["force_eV_A"] / KCAL_MOL, 3) for p in points]
    return {"source": source, "labeler": labeler, "points": points, "energy_kcal_mol": energy,
            "force_kcal_mol_A": force, "constants": bond_constants([p["r"] for p in points], energy),
            "failed": sum("error" in p for p in points), "cpu_s": round(cpu_s, 2)}


def bond_constants(distances: list[float], energies: list[float | None],
                   window: float = FIT_WINDOW_A) -> dict[str, float] | None:
    """Minimum (Å), force constant k2 (kcal/mol/Å²), cubic constant k3 (kcal/mol/Å³) and Morse
    exponent -k3 / (3 k2) (Å⁻¹) of a quintic fitted to the points within `window` Å of the lowest
    point (on a 0.05 Å grid it gives a Morse curve's own a within 1 %); None with fewer than 7 such
    points, the lowest point at the scan's end or no minimum in the window."""
    r = np.asarray(distances, dtype=float)
    e = np.asarray([np.nan if v is None else v for v in energies], dtype=float)
    ok = np.isfinite(e)
    if ok.sum() < 7:
        return None
    lowest = int(np.nanargmin(e))
    if lowest in (int(np.flatnonzero(ok)[0]), int(np.flatnonzero(ok)[-1])):
        return None
    near = ok & (np.abs(r - r[lowest]) <= window + 1e-9)
    if near.sum() < 7:
        return None
    poly = np.polynomial.Polynomial.fit(r[near] - r[lowest], e[near], 5).convert()
    slope, curvature, cubic = poly.deriv(1), poly.deriv(2), poly.deriv(3)
    roots = [x.real for x in slope.roots() if abs(x.imag) < 1e-9 and abs(x.real) <= window and curvature(x.real) > 0]
    if not roots:
        return None
    x0 = min(roots, key=abs)
    k2, k3 = float(curvature(x0)), float(cubic(x0))
    return {"r0_A": round(float(r[lowest] + x0), 4), "k2_kcal_mol_A2": round(k2, 1), "k3_kcal_mol_A3": round(k3, 1),
            "morse_a_per_A": round(-k3 / (3 * k2), 3), "window_A": window}


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(document, indent=1))


def legend_name(name: str, curve: dict[str, Any]) -> str:
    """A labeler named after its spec shows the spec (xtb:gfn2, not the file-safe xtb_gfn2); a name
    the user gave (NAME=...) or a model's stays."""
    from acquire.md.calculators import safe_name

    return curve["source"] if curve.get("labeler") and name == safe_name(curve["source"]) else name


def scan_title(document: dict[str, Any]) -> str:
    """The plot's title; it promises shading only when there is some (--coverage)."""
    pair = "-".join(document["symbols"])
    shaded = " (shaded: bond lengths in the labelled data)" if document["coverage"] else ""
    return f"{document['formula']}: {pair} bond scan{shaded}"


def plot(document: dict[str, Any], path: Path) -> None:
    """Energy (top) and force along the bond (bottom) against the bond length, data ranges shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = document["distances_A"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 7), sharex=True)
    for k, (name, curve) in enumerate(document["sources"].items()):
        top.plot(r, [np.nan if e is None else e for e in curve["energy_kcal_mol"]], marker=".", color=f"C{k}",
                 label=legend_name(name, curve))
        if any(f is not None for f in curve["force_kcal_mol_A"]):
            bottom.plot(r, [np.nan if f is None else f for f in curve["force_kcal_mol_A"]], marker=".", color=f"C{k}")
    for (src, c), shade in zip(document["coverage"].items(), ("0.55", "0.8", "0.7", "0.9")):
        for ax in (top, bottom):
            ax.axvspan(c["p0"], c["p100"], alpha=0.25, color=shade, lw=0,
                       label=f"{src} frames: {c['p0']:.2f}-{c['p100']:.2f} Å" if ax is top else None)
    fixed, moving = document["bond"]
    pair = "-".join(document["symbols"])
    highest = max((e for c in document["sources"].values() for e in c["energy_kcal_mol"] if e is not None), default=10.0)
    top.set_ylim(-5, min(max(highest * 1.05, 10.0), 150.0))  # a compressed bond's wall would hide the rest
    top.set_ylabel("energy (kcal/mol, from the start length)")
    bottom.set_ylabel(f"force on atom {moving} along the bond (kcal/mol/Å)")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_xlabel(f"{pair} bond length, atoms {fixed}-{moving} (Å)")
    top.legend(fontsize=8)
    top.set_title(scan_title(document), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
