"""MD stability of force fields: Langevin dynamics (ASE) with any ASE calculator, instability
detection, step-size sweeps, runs in parallel processes.

A run is unstable at the first step where (checked every step, in this order)
- the calculator fails (a `LabelerError`, e.g. SCF not converged) or returns a non-finite energy
  or forces, or the positions become non-finite (`nonfinite` / `calculator`);
- two atoms come closer than `min_pair_distance_A` (`pair`);
- a bonded distance leaves [d0 - tol, d0 + tol], d0 its start value and tol `bond_tolerance_A`
  (0.5 Å, the criterion of Fu et al., "Forces are not enough", 2022); bonds are the pairs closer
  than `bond_scale` × the sum of covalent radii in the start geometry (`bond`).
Each run also records its total energy (potential + kinetic) at the trace points, its drift (the
slope of a straight line through them, meV per atom per ps) and its fluctuation (their standard
deviation, meV per atom): with `friction_per_fs` 0 the dynamics is microcanonical (velocity
Verlet), the fluctuation grows as the time step squared and the drift shows a force field or time
step that does not conserve energy; under the thermostat both also hold the bath's exchange.
Units: Å, eV, eV/Å, fs inside (`ase.units` for ASE's time unit); reports convert.
With an output directory every finished run is stored (`acquire.md.finished_runs`) and a rerun resumes.
"""
from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from acquire.errors import AcquireError
from acquire.md.proportions import PairedComparison, compare_paired, wilson_interval
from acquire.md.vibrations import FastestMode, fastest_mode
from acquire.molecules import BOND_SCALE, bond_mask
from train.config import STRICT

if TYPE_CHECKING:
    from ase.md.langevin import Langevin

CalculatorFactory = Callable[[], Calculator]


class MDError(AcquireError):
    """MD settings or a start geometry that cannot be run."""


@pydantic_dataclass(frozen=True, config=STRICT)
class MDSettings:
    """Langevin MD and stability-check settings (K, fs, 1/fs, Å); checked when made (MDError)."""

    temperature_K: float = 500.0
    timestep_fs: float = 0.5
    friction_per_fs: float = 0.002
    steps: int = 10000
    bond_tolerance_A: float = 0.5
    min_pair_distance_A: float = 0.5
    bond_scale: float = BOND_SCALE
    save_every: int = 100  # trajectory frame every N steps, plus the failing one (0: no trajectory)
    trace_points: int = 400  # distance-trace samples kept per run (for plots)
    hydrogen_mass_amu: float | None = None  # every H atom's mass (e.g. 2.014, deuterium); None: natural masses

    def __post_init__(self) -> None:
        for name, value, strict in (
            ("temperature (K)", self.temperature_K, True), ("time step (fs)", self.timestep_fs, True),
            ("friction (1/fs)", self.friction_per_fs, False), ("bond tolerance (Å)", self.bond_tolerance_A, True),
            ("minimum pair distance (Å)", self.min_pair_distance_A, False), ("bond scale", self.bond_scale, True),
        ):
            if not math.isfinite(value) or value < 0 or (strict and value == 0):
                raise MDError(f"{name} must be a finite number {'> 0' if strict else '>= 0'}, got {value}")
        if self.steps < 1 or self.save_every < 0:
            raise MDError(f"steps must be >= 1 and save-every >= 0, got steps={self.steps}, save_every={self.save_every}")
        if self.trace_points < 2:
            raise MDError(f"trace points must be >= 2 (a trace needs a start and an end), got {self.trace_points}")
        if self.hydrogen_mass_amu is not None and not (math.isfinite(self.hydrogen_mass_amu) and self.hydrogen_mass_amu > 0):
            raise MDError(f"hydrogen mass (amu) must be a finite number > 0, got {self.hydrogen_mass_amu}")

    def masses(self, atoms: Atoms) -> np.ndarray:
        """The atoms' masses (amu) in these dynamics: natural, or H set to `hydrogen_mass_amu`."""
        masses = atoms.get_masses()
        if self.hydrogen_mass_amu is not None:
            masses = np.where(atoms.numbers == 1, self.hydrogen_mass_amu, masses)
        return masses


FailureKind = Literal["bond", "pair", "nonfinite", "calculator"]


@dataclass(frozen=True)
class MDFailure:
    """Why and when a run became unstable."""

    kind: FailureKind
    detail: str
    step: int
    time_fs: float


@dataclass
class MDRun:
    """One trajectory: stable or not, when and why it failed, and distance traces for plots."""

    model: str
    timestep_fs: float
    run: int
    seed: int
    steps: int  # steps completed (== settings.steps for a stable run)
    stable: bool
    failure: MDFailure | None
    mean_temperature_K: float
    wall_s: float
    trajectory: str | None = None
    trace: dict[str, list[float]] = field(default_factory=dict)  # time_fs, max_bond_deviation_A, min_pair_distance_A, total_energy_eV
    energy_drift_meV_per_atom_ps: float | None = None  # slope of the total energy before any failure
    energy_fluctuation_meV_per_atom: float | None = None  # its standard deviation before any failure

    @property
    def time_fs(self) -> float:
        """Simulated time reached (fs): the time to failure of an unstable run."""
        return self.steps * self.timestep_fs


class Geometry:
    """Bonds perceived once from a start geometry; distance checks of later geometries."""

    def __init__(self, start: Atoms, settings: MDSettings) -> None:
        self.symbols = start.get_chemical_symbols()
        self.pairs_i, self.pairs_j = np.triu_indices(len(start), k=1)
        d0 = self.distances(start.get_positions())
        self.bonded = bond_mask(start.numbers, d0, (self.pairs_i, self.pairs_j), settings.bond_scale)
        self.has_bonds = bool(self.bonded.any())
        self.d0 = d0
        self.settings = settings
        if len(start) > 1 and d0.min() < settings.min_pair_distance_A:
            k = int(np.argmin(d0))
            raise MDError(f"start geometry already has {self._pair(k)} at {d0[k]:.3f} Å, "
                          f"closer than the {settings.min_pair_distance_A} Å threshold")

    def distances(self, positions: np.ndarray) -> np.ndarray:
        diff = positions[self.pairs_i] - positions[self.pairs_j]
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def _pair(self, k: int) -> str:
        i, j = self.pairs_i[k], self.pairs_j[k]
        return f"{self.symbols[i]}{i}-{self.symbols[j]}{j}"

    def check(self, positions: np.ndarray) -> tuple[str | None, str, float, float]:
        """(failure kind or None, detail, max bond deviation Å, min pair distance Å)."""
        d = self.distances(positions)
        deviation = np.abs(d - self.d0) * self.bonded
        worst_bond = int(deviation.argmax()) if self.has_bonds else -1
        max_dev = float(deviation[worst_bond]) if worst_bond >= 0 else 0.0
        closest = int(d.argmin()) if len(d) else -1
        min_pair = float(d[closest]) if closest >= 0 else math.inf
        if min_pair < self.settings.min_pair_distance_A:
            return "pair", f"{self._pair(closest)} at {min_pair:.3f} Å (< {self.settings.min_pair_distance_A} Å)", max_dev, min_pair
        if max_dev > self.settings.bond_tolerance_A:
            k = worst_bond
            return ("bond", f"bond {self._pair(k)} at {d[k]:.3f} Å (start {self.d0[k]:.3f} Å, "
                    f"tolerance ±{self.settings.bond_tolerance_A} Å)", max_dev, min_pair)
        return None, "", max_dev, min_pair


def run_one(calculator: Calculator, start: Atoms, settings: MDSettings, seed: int, model: str = "model",
            run: int = 0, trajectory: str | Path | None = None) -> MDRun:
    """One Langevin trajectory from `start` with velocities drawn at the temperature (seeded)."""
    from labelers.errors import LabelerError, NonFiniteLabelError

    began = time.perf_counter()
    geometry = Geometry(start, settings)
    atoms, dyn = start_dynamics(calculator, start, settings, seed)
    trace_every = max(1, settings.steps // settings.trace_points)
    trace: dict[str, list[float]] = {"time_fs": [], "max_bond_deviation_A": [], "min_pair_distance_A": [],
                                     "total_energy_eV": []}
    temperatures: list[float] = []
    failure: MDFailure | None = None
    writer = _TrajectoryWriter(trajectory, settings.save_every)
    step = 0
    try:
        forces = None
        energy: float | None = None
        while True:
            energy = None
            try:
                if forces is None:  # step 0: the start geometry's forces
                    forces = atoms.get_forces(md=True)
                else:
                    step += 1  # counted first: a failing step has already moved the atoms
                    forces = dyn.step(forces)
                energy = float(calculator.results["energy"])  # of these positions: get_forces just ran
                kind, detail = _nonfinite(energy, forces, atoms.positions)
            except NonFiniteLabelError as exc:
                kind, detail = "nonfinite", str(exc).splitlines()[0]
            except LabelerError as exc:
                kind, detail = "calculator", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            max_dev = min_pair = math.nan
            if kind is None:
                kind, detail, max_dev, min_pair = geometry.check(atoms.positions)
            if step % trace_every == 0 or kind is not None:
                trace["time_fs"].append(step * settings.timestep_fs)
                trace["max_bond_deviation_A"].append(max_dev)
                trace["min_pair_distance_A"].append(min_pair)
                total = energy + float(atoms.get_kinetic_energy()) if energy is not None else math.nan
                trace["total_energy_eV"].append(total if kind is None else math.nan)  # a failing step is not fitted
                temperatures.append(float(atoms.get_temperature()))
            if kind is not None:
                failure = MDFailure(kind, detail, step, step * settings.timestep_fs)
                writer.write(atoms, step, energy, forces if energy is not None else None, force=True)
                break
            writer.write(atoms, step, energy, forces, force=step == settings.steps)
            if step >= settings.steps:
                break
    finally:
        writer.close()
        atoms.calc = None
    return MDRun(
        model=model, timestep_fs=settings.timestep_fs, run=run, seed=seed, steps=step, stable=failure is None,
        failure=failure, mean_temperature_K=float(np.nanmean(temperatures)) if temperatures else math.nan,
        wall_s=time.perf_counter() - began, trajectory=None if trajectory is None else str(trajectory), trace=trace,
        energy_drift_meV_per_atom_ps=energy_drift(trace["time_fs"], trace["total_energy_eV"], len(atoms)),
        energy_fluctuation_meV_per_atom=energy_fluctuation(trace["total_energy_eV"], len(atoms)),
    )


def start_dynamics(calculator: Calculator, start: Atoms, settings: MDSettings, seed: int) -> tuple[Atoms, Langevin]:
    """A copy of `start` with the dynamics' masses and seeded Maxwell-Boltzmann momenta (no net
    translation or rotation) on `calculator`, and ASE's Langevin integrator for it: how every run
    begins, so that a run can be repeated step by step (`benchmarks/md_step_trace.py`)."""
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, ZeroRotation

    atoms = Atoms(numbers=start.numbers, positions=start.get_positions())
    atoms.set_masses(settings.masses(atoms))
    calculator.reset()
    atoms.calc = calculator
    rng = np.random.default_rng(seed)
    _thermalize(atoms, settings.temperature_K, rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = Langevin(atoms, settings.timestep_fs * units.fs, temperature_K=settings.temperature_K,
                   friction=settings.friction_per_fs / units.fs, fixcm=False, rng=rng)
    return atoms, dyn


def energy_drift(time_fs: Sequence[float], total_energy_eV: Sequence[float], atoms: int) -> float | None:
    """Least-squares slope of the total energy against time, meV per atom per ps (None with fewer
    than 3 finite points)."""
    t, e = np.asarray(time_fs, dtype=float), np.asarray(total_energy_eV, dtype=float)
    keep = np.isfinite(t) & np.isfinite(e)
    if keep.sum() < 3 or np.ptp(t[keep]) == 0:
        return None
    slope_eV_per_fs = np.polyfit(t[keep], e[keep], 1)[0]
    return float(slope_eV_per_fs * 1e3 * 1e3 / atoms)


def energy_fluctuation(total_energy_eV: Sequence[float], atoms: int) -> float | None:
    """Standard deviation of the total energy's finite values, meV per atom (None with fewer than 3)."""
    e = np.asarray(total_energy_eV, dtype=float)
    e = e[np.isfinite(e)]
    return float(e.std() * 1e3 / atoms) if len(e) >= 3 else None


def _thermalize(atoms: Atoms, temperature_K: float, rng: np.random.Generator) -> None:
    """Maxwell-Boltzmann momenta at `temperature_K` (ASE >= 3.29 renamed the function)."""
    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # ASE < 3.29
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
    else:
        thermalize_momenta(atoms, temperature_K, rng=rng)


def _nonfinite(energy: float, forces: np.ndarray, positions: np.ndarray) -> tuple[str | None, str]:
    if not math.isfinite(energy):
        return "nonfinite", f"energy is {energy}"
    if not np.isfinite(forces).all():
        return "nonfinite", "forces are not finite"
    if not np.isfinite(positions).all():
        return "nonfinite", "positions are not finite"
    return None, ""


class _TrajectoryWriter:
    """Appends every `every`-th frame (and forced frames) to an extxyz file; no-op without a path."""

    def __init__(self, path: str | Path | None, every: int) -> None:
        self.every = every
        self.handle = None
        if path is not None and every > 0:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(path, "w")

    def write(self, atoms: Atoms, step: int, energy: float | None, forces: np.ndarray | None,
              force: bool = False) -> None:
        """Frame `step` with its energy (eV) and forces (eV/Å) where known."""
        if self.handle is None or not (force or step % self.every == 0):
            return
        from ase.calculators.singlepoint import SinglePointCalculator
        from ase.io import write

        frame = Atoms(numbers=atoms.numbers, positions=atoms.positions, momenta=atoms.get_momenta(),
                      info={"step": step})
        if energy is not None and forces is not None:
            frame.calc = SinglePointCalculator(frame, energy=energy, forces=forces)
        write(self.handle, frame, format="extxyz")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


# --- many runs: models x time steps x repeats, in parallel processes -----------------------

@dataclass(frozen=True)
class Job:
    model: str
    timestep_fs: float
    run: int
    seed: int
    start: Atoms
    trajectory: str | None


_FACTORIES: Mapping[str, CalculatorFactory] = {}
_CALCULATORS: dict[str, Calculator] = {}


def _init_worker(factories: Mapping[str, CalculatorFactory]) -> None:
    """Pool initialiser: one thread per worker; calculators are built on first use, then reused."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    global _FACTORIES
    _FACTORIES = factories
    _CALCULATORS.clear()


def _calculator(model: str) -> Calculator:
    if model not in _CALCULATORS:
        _CALCULATORS[model] = _FACTORIES[model]()
    return _CALCULATORS[model]


class ResultStore(Protocol):
    """Where finished runs are kept between calls (`acquire.md.finished_runs.RunStore`)."""

    def load(self, job: Job, settings: MDSettings, source: str) -> MDRun | None: ...

    def save(self, job: Job, settings: MDSettings, source: str, result: MDRun) -> None: ...


def settings_at(settings: MDSettings, timestep_fs: float) -> MDSettings:
    """`settings` with another time step."""
    return replace(settings, timestep_fs=timestep_fs)


def _run_job(job: Job, settings: MDSettings, calculator: Calculator | None = None) -> MDRun:
    """One job with its model's calculator (or `calculator`, e.g. a lockstep replica's)."""
    step = settings_at(settings, job.timestep_fs)
    return run_one(calculator if calculator is not None else _calculator(job.model), job.start, step, job.seed, job.model, job.run, job.trajectory)


def _run_unit(jobs: list[Job], settings: MDSettings) -> list[MDRun]:
    """The runs of one unit of work: one job, or the runs of one trained model at one time step,
    stepped together with one batched model call per step (`acquire.md.lockstep`)."""
    from acquire.md.lockstep import can_batch, run_together

    calculator = _calculator(jobs[0].model)
    if len(jobs) == 1 or not can_batch(calculator):
        return [_run_job(job, settings) for job in jobs]
    return run_together(calculator, lambda replica, k: _run_job(jobs[k], settings, replica), len(jobs))


def units_of_work(jobs: list[Job], batched: set[str]) -> list[list[Job]]:
    """Jobs grouped for `_run_unit`: the runs of a model in `batched` at one time step together,
    every other job alone (a labeler such as xTB labels one geometry per call)."""
    groups: dict[tuple[str, float], list[Job]] = {}
    units: list[list[Job]] = []
    for job in jobs:
        if job.model in batched:
            groups.setdefault((job.model, job.timestep_fs), []).append(job)
        else:
            units.append([job])
    return list(groups.values()) + units


@dataclass
class Summary:
    """Stable fraction and failures of one model at one time step."""

    model: str
    timestep_fs: float
    runs: int
    stable: int
    stable_fraction: float
    stable_fraction_ci95: tuple[float, float]  # Wilson score interval
    failures: dict[str, int]
    median_time_to_failure_ps: float | None
    mean_temperature_K: float | None  # over stable runs: a check of the thermostat
    median_abs_drift_meV_per_atom_ps: float | None = None  # over runs with a drift (before any failure)
    median_fluctuation_meV_per_atom: float | None = None


@dataclass
class StabilityResult:
    """All runs, their summaries per (model, time step), and the settings that made them."""

    settings: MDSettings
    models: dict[str, str]  # name -> source (path or labeler spec)
    timesteps_fs: list[float]
    seed: int
    runs: list[MDRun]
    wall_s: float
    resumed: int = 0  # runs read back from an earlier, interrupted call
    fastest_modes: dict[str, FastestMode] = field(default_factory=dict)  # per model, at the first start geometry

    def summaries(self) -> list[Summary]:
        out = []
        for model in self.models:
            for dt in self.timesteps_fs:
                group = [r for r in self.runs if r.model == model and r.timestep_fs == dt]
                if not group:
                    continue
                failed = [r.time_fs / 1000.0 for r in group if not r.stable]
                stable = sum(r.stable for r in group)
                out.append(Summary(
                    model=model, timestep_fs=dt, runs=len(group), stable=stable,
                    stable_fraction=stable / len(group), stable_fraction_ci95=wilson_interval(stable, len(group)),
                    failures=dict(Counter(r.failure.kind for r in group if r.failure is not None)),
                    median_time_to_failure_ps=float(np.median(failed)) if failed else None,
                    mean_temperature_K=float(np.nanmean([r.mean_temperature_K for r in group if r.stable]))
                    if stable else None,
                    median_abs_drift_meV_per_atom_ps=_median_abs([r.energy_drift_meV_per_atom_ps for r in group]),
                    median_fluctuation_meV_per_atom=_median_abs([r.energy_fluctuation_meV_per_atom for r in group]),
                ))
        return out

    def comparisons(self) -> list[PairedComparison]:
        """Every pair of models at every time step, over the run indices both made (same seed, same start)."""
        stable: dict[tuple[str, float], dict[tuple[int, int], bool]] = {}
        for r in self.runs:
            stable.setdefault((r.model, r.timestep_fs), {})[(r.run, r.seed)] = r.stable
        out = []
        for dt in self.timesteps_fs:
            for i, a in enumerate(self.models):
                for b in list(self.models)[i + 1:]:
                    runs_a, runs_b = stable.get((a, dt), {}), stable.get((b, dt), {})
                    both = sorted(runs_a.keys() & runs_b.keys())
                    if both:
                        out.append(compare_paired(a, b, dt, [(runs_a[k], runs_b[k]) for k in both]))
        return out


def _median_abs(values: Sequence[float | None]) -> float | None:
    known = [abs(v) for v in values if v is not None]
    return float(np.median(known)) if known else None


def plan_jobs(models: Sequence[str], starts: Sequence[Atoms], timesteps_fs: Sequence[float], runs: int,
              seed: int, out_dir: str | Path | None) -> list[Job]:
    """Every (model, time step, repeat); repeat k starts from starts[k % len] with seed `seed + k`
    (the same for every model and time step, so comparisons are paired)."""
    if not starts:
        raise MDError("no start geometry given")
    if runs < 1:
        raise MDError(f"runs must be >= 1, got {runs}")
    jobs = []
    for model in models:
        for dt in timesteps_fs:
            for k in range(runs):
                path = None if out_dir is None else str(Path(out_dir) / "trajectories" / model / f"dt{dt:g}fs" / f"run{k:03d}.extxyz")
                jobs.append(Job(model, float(dt), k, seed + k, starts[k % len(starts)], path))
    return jobs


def run_stability(
    models: Mapping[str, CalculatorFactory],
    starts: Sequence[Atoms],
    settings: MDSettings = MDSettings(),
    timesteps_fs: Sequence[float] | None = None,
    runs: int = 20,
    seed: int = 0,
    workers: int = 1,
    out_dir: str | Path | None = None,
    sources: Mapping[str, str] | None = None,
    on_result: Callable[[MDRun], None] | None = None,
    store: ResultStore | None = None,
    modes: bool = True,
) -> StabilityResult:
    """Run `runs` trajectories per model and time step; `workers` > 1 uses spawned processes.

    `models` maps a name to a picklable zero-argument factory of an ASE calculator (it is called
    once per worker process); `sources` maps it to what it was made from (a path or spec). With
    `out_dir`, trajectories go under `out_dir/trajectories/`; with a `store` (`acquire.md.finished_runs.RunStore`)
    every finished run is stored, so that calling again with the same arguments resumes. With
    `modes`, each model's fastest vibration at the first start geometry is measured too (6 N force
    calls; `acquire.md.vibrations`), so that the report can set the time steps against it.
    """
    timesteps = [float(t) for t in (timesteps_fs or [settings.timestep_fs])]
    for dt in timesteps:
        if not (math.isfinite(dt) and dt > 0):
            raise MDError(f"time steps must be finite numbers > 0 fs, got {dt}")
    sources = dict(sources or {m: m for m in models})
    jobs = plan_jobs(list(models), starts, timesteps, runs, seed, out_dir)
    began = time.perf_counter()
    results: list[MDRun] = []
    todo = {}
    for job in jobs:
        stored = None if store is None else store.load(job, settings, sources.get(job.model, job.model))
        if stored is None:
            todo[(job.model, job.timestep_fs, job.run)] = job
        else:
            results.append(stored)
            if on_result:
                on_result(stored)
    batched = {m for m in models if Path(sources.get(m, m)).expanduser().exists()}  # trained models, not labelers
    for result in _execute(units_of_work(list(todo.values()), batched), models, settings, workers, on_result):
        if store is not None:
            job = todo[(result.model, result.timestep_fs, result.run)]
            store.save(job, settings, sources.get(job.model, job.model), result)
        results.append(result)
    results.sort(key=lambda r: (list(models).index(r.model), r.timestep_fs, r.run))
    return StabilityResult(settings=settings, models=sources, timesteps_fs=timesteps, seed=seed, runs=results,
                           wall_s=time.perf_counter() - began, resumed=len(jobs) - len(todo),
                           fastest_modes=measure_fastest_modes(models, starts[0], settings) if modes else {})


def measure_fastest_modes(calculators: Mapping[str, CalculatorFactory], start: Atoms,
                          settings: MDSettings) -> dict[str, FastestMode]:
    """Each model's fastest vibration at `start`, with the masses of the dynamics; a model whose
    calculator fails (or a single atom) is left out: its runs say why."""
    from labelers.errors import LabelerError

    out = {}
    for name, factory in calculators.items():
        try:
            out[name] = fastest_mode(factory(), start, settings.masses(start))
        except (LabelerError, ValueError):
            continue
    return out


def _execute(units: list[list[Job]], models: Mapping[str, CalculatorFactory], settings: MDSettings, workers: int,
             on_result: Callable[[MDRun], None] | None) -> Iterator[MDRun]:
    if not units:
        return
    workers = max(1, min(int(workers), len(units)))
    if workers == 1:
        _init_worker(models)
        try:
            for unit in units:
                for result in _run_unit(unit, settings):
                    if on_result:
                        on_result(result)
                    yield result
        finally:
            _CALCULATORS.clear()
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # torch and tblite are not fork-safe
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(dict(models),)) as pool:
        futures = [pool.submit(_run_unit, unit, settings) for unit in units]
        for future in as_completed(futures):
            for result in future.result():
                if on_result:
                    on_result(result)
                yield result


def parse_timesteps(text: str) -> list[float]:
    """'0.5,1,2,3' -> [0.5, 1.0, 2.0, 3.0] (fs); raises MDError."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise MDError(f"time steps must be comma-separated numbers in fs, e.g. 0.5,1,2,3; got {text!r}") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise MDError(f"time steps must be numbers > 0 fs, e.g. 0.5,1,2,3; got {text!r}")
    return sorted(set(values))


