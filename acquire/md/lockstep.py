"""Replicas in lockstep: the runs of one trained model at one time step share one batched model
call per MD step.

Each replica is an ordinary `run_one` (ASE's Langevin, its own seed and stability checks) in its
own thread; its calculator is a `ReplicaCalculator` that hands the positions to a shared
`Lockstep` and waits. When every replica still running has asked, the last one to ask evaluates
them all at once (`PotentialCalculator.evaluate_many`, in replica order) and wakes the others. A
replica that fails or finishes leaves, and the others go on without it. The batch of a step is
always the same replicas in the same order, so a seed gives the same runs on every call; they
differ from one-at-a-time runs only by float rounding in the batched call. Batching pays because a
small molecule's model call is dominated by fixed overhead (one MACE ethanol molecule costs about
as much as ten in one call; docs/results.md).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from ase.calculators.calculator import Calculator, all_changes


class Lockstep:
    """Collects one request per running replica, then evaluates them in one batched call."""

    def __init__(self, calculator, replicas: int) -> None:
        self.calculator = calculator  # has evaluate_many([(numbers, positions), ...])
        self.running = replicas
        self.pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.results: dict[int, tuple[float, np.ndarray] | BaseException] = {}
        self.condition = threading.Condition()

    def evaluate(self, replica: int, numbers: np.ndarray, positions: np.ndarray) -> tuple[float, np.ndarray]:
        """(energy eV, forces eV/Å) of replica `replica`'s positions, once every running replica has asked."""
        with self.condition:
            self.pending[replica] = (numbers.copy(), positions.copy())
            self._evaluate_if_complete()
            while replica not in self.results:
                self.condition.wait()
            result = self.results.pop(replica)
        if isinstance(result, BaseException):
            raise result
        return result

    def leave(self) -> None:
        """A replica stopped (stable to the end, failed or raised): stop waiting for it."""
        with self.condition:
            self.running -= 1
            self._evaluate_if_complete()

    def _evaluate_if_complete(self) -> None:
        if not self.pending or len(self.pending) < self.running:
            return
        order = sorted(self.pending)
        try:
            values: list = self.calculator.evaluate_many([self.pending[i] for i in order])
        except Exception as error:  # noqa: BLE001 - every waiting replica gets it, none hangs
            values = [error] * len(order)
        self.results.update(zip(order, values))
        self.pending.clear()
        self.condition.notify_all()


class ReplicaCalculator(Calculator):
    """The ASE calculator of one replica: energy (eV) and forces (eV/Å) through its `Lockstep`."""

    implemented_properties = ["energy", "forces", "free_energy"]

    def __init__(self, lockstep: Lockstep, replica: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lockstep = lockstep
        self.replica = replica

    def check_state(self, atoms, tol: float = 1e-15) -> list[str]:
        from train.calculator import exact_changes

        return exact_changes(self.atoms, atoms)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        energy, forces = self.lockstep.evaluate(self.replica, self.atoms.numbers, self.atoms.positions)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}


def run_together(calculator, run: Callable[[Calculator, int], object], replicas: int) -> list:
    """`run(replica_calculator, k)` for k in range(replicas), each in its own thread, sharing
    `calculator`'s batched evaluation; returns their results in replica order (re-raises the first
    error of any replica after all have stopped)."""
    lockstep = Lockstep(calculator, replicas)
    results: list = [None] * replicas
    errors: list[BaseException] = []

    def target(k: int) -> None:
        try:
            results[k] = run(ReplicaCalculator(lockstep, k), k)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(error)
        finally:
            lockstep.leave()

    threads = [threading.Thread(target=target, args=(k,), name=f"md-replica-{k}") for k in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def can_batch(calculator) -> bool:
    """Whether `calculator` evaluates several molecules in one call (a trained model; not a labeler)."""
    return callable(getattr(calculator, "evaluate_many", None))

