"""The label store: an ASE database (SQLite) with one row per (configuration, labeler spec).

Browse it with `ase db labels.db status=done -c id,formula,labeler,status,cost_s,energy`; read a label with
`row.toatoms().get_potential_energy()` (eV) and `.get_forces()` (eV/Å). Key-value pairs of a row:
`labeler` (canonical spec), `config_hash`, `status` (pending/running/done/failed), `attempts`,
`cost_s` (CPU-core seconds spent on the row, all attempts), `declared_s` (the labeler's declared
cost of the label, what plans count in), `error` (last failure), `versions`
(JSON), `owner` and `lease_until` (who is computing it, until when), and `slot`
(`labeler|config_hash`, unique: a partial unique index makes a duplicate row impossible).

Concurrency. One coordinator per run writes; workers only compute. Every state change happens
inside `BEGIN IMMEDIATE` (SQLite's write lock, taken before reading), so two runs on one store
cannot claim the same row: a row is labelled by whoever claimed it, and another run skips it
until its lease expires or its owner (same host) is dead. A killed run leaves `running` rows
whose owner is gone; the next run reclaims them. ASE's own lock file is disabled: a kill -9 would
leave it behind, and SQLite's lock already serialises writers.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from acquire.errors import StoreError
from acquire.labeling import store_file
from labelers.base import Label

HASH_DECIMALS = 5  # positions rounded to 1e-5 Å: far below any physical difference, far above float noise
MAX_LOST = 10  # workers lost on one row before it is failed: interruptions are not attempts, but a label
# that kills every worker (memory) must not loop forever
LEASE_S = 600.0  # a claim expires after this long without renewal (the coordinator renews it)
STATUSES = ("pending", "running", "done", "failed")
CHARGE_KEYS = ("charge", "spin", "multiplicity")  # atoms.info keys that change a label: hashed and stored
_INDEXES = (  # extra SQLite indexes inside ASE's schema; `ase db` ignores them. By row id: ASE
    # rewrites a row's key-value tables on every update, which is a full scan without them.
    "CREATE INDEX IF NOT EXISTS acquire_text_kv ON text_key_values(key, value)",
    "CREATE INDEX IF NOT EXISTS acquire_text_id ON text_key_values(id)",
    "CREATE INDEX IF NOT EXISTS acquire_number_id ON number_key_values(id)",
    "CREATE INDEX IF NOT EXISTS acquire_keys_id ON keys(id)",
    "CREATE INDEX IF NOT EXISTS acquire_species_id ON species(id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS acquire_unique_slot ON text_key_values(value) WHERE key = 'slot'",
)


def config_hash(atoms: Atoms) -> str:
    """Hash of a configuration: atomic numbers, positions rounded to 1e-5 Å, and charge/spin if set."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(np.asarray(atoms.numbers, dtype="<i8").tobytes())
    digest.update(np.rint(np.asarray(atoms.positions, dtype=float) * 10**HASH_DECIMALS).astype("<i8").tobytes())
    extra = {k: int(atoms.info[k]) for k in CHARGE_KEYS if k in atoms.info}
    if any(extra.values()):
        digest.update(json.dumps(extra, sort_keys=True).encode())
    return "cfg" + digest.hexdigest()[:29]


def new_owner() -> str:
    """A token naming this process: `host:pid:random`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_alive(owner: str) -> bool:
    """False only when the owner provably is dead: same host and no such process."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Task:
    """A claimed row: the configuration to label with `spec`."""

    row_id: int
    config_hash: str
    spec: str
    atoms: Atoms
    attempts: int


RowStatus = Literal["pending", "running", "done", "failed"]
RowOutcome = Literal["pending", "failed", "done", "stale"]  # what `fail` did to a row


@dataclass
class Commit:
    """What `finish` did: results written, and results dropped because their claim was stale."""

    written: int = 0
    stale: int = 0


@dataclass
class Counts:
    """Rows of one labeler by status; CPU-core seconds spent (measured) and declared for done labels."""

    pending: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cost_s: float = 0.0
    declared_s: float = 0.0

    @property
    def total(self) -> int:
        return self.pending + self.running + self.done + self.failed


@dataclass(frozen=True)
class LabelArrays:
    """Done labels of one spec: positions (n, k, 3) Å, numbers (k,), energies (n,) eV, forces (n, k, 3)
    eV/Å, or None when the labels are energies only (`;forces=false`)."""

    spec: str
    positions: np.ndarray
    numbers: np.ndarray
    energies: np.ndarray
    forces: np.ndarray | None
    config_hashes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.energies)

    def rows_of(self, frames: Sequence[Atoms]) -> list[int | None]:
        """The row of each frame's label (matched by `config_hash`), None where it has none."""
        row = {h: k for k, h in enumerate(self.config_hashes)}
        return [row.get(config_hash(a)) for a in frames]


class LabelStore:
    """An ASE SQLite database of labels, safe for concurrent coordinators (module docstring)."""

    def __init__(self, path: str | os.PathLike, create: bool = True) -> None:
        """Open the store at `path`; with `create` it may be written (the file itself is created by
        the first write, so a run that fails before labeling leaves nothing behind). Only a store
        this project made is opened (`acquire.labeling.store_file`); opening never writes."""
        from ase.db import connect

        self.path = Path(path)
        if self.path.suffix.lower() != ".db":
            raise StoreError(f"a label store is an ASE SQLite file ending in .db, got {path}")
        if self.path.is_dir():
            raise StoreError(f"label store {path} is a directory")
        self._state = store_file.inspect(self.path)
        if self._state == "absent":
            if not create:
                raise StoreError(f"no label store at {path}")
            if not self.path.parent.is_dir():
                raise StoreError(f"cannot create label store {path}: folder {self.path.parent} does not exist")
            if not os.access(self.path.parent, os.W_OK):
                raise StoreError(f"cannot create label store {path}: folder {self.path.parent} is not writable")
        elif create and not os.access(self.path, os.W_OK):
            raise StoreError(f"label store {path} is not writable")
        self._db = connect(str(self.path), type="db", use_lock_file=False)

    def _prepare(self) -> None:
        """Before the first write: ASE's tables, the project's indexes and the marker, under the write
        lock so that two processes creating one store do not both create them."""
        try:
            with sqlite3.connect(str(self.path), timeout=60) as con:
                con.execute("BEGIN IMMEDIATE")
                store_file.prepare(self.path, con, self._db._initialize, _INDEXES)  # ASE-private; pyproject pins ASE
        except sqlite3.DatabaseError as exc:
            raise store_file.read_error(self.path, exc) from exc
        except OSError as exc:
            raise StoreError(f"cannot write label store {self.path}: {exc}") from exc
        self._state = "ours"

    @property
    def _readable(self) -> bool:
        """Whether the file holds a store yet (it does not before the first write)."""
        return self._state in ("ours", "legacy")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """SQLite's read errors as the store's one-line error."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise store_file.read_error(self.path, exc) from exc

    # ---- transactions -------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[object]:
        """One write transaction (SQLite write lock taken before reading), committed on success."""
        if self._state != "ours":
            self._prepare()
        db = self._db
        try:
            with db:
                db.connection.execute("BEGIN IMMEDIATE")
                yield db
        except sqlite3.Error as exc:
            raise store_file.read_error(self.path, exc) from exc
        finally:
            if db.connection is not None:  # ASE's __exit__ failed half-way (e.g. the file vanished)
                try:
                    db.connection.close()
                finally:
                    db.connection = None

    def _rows(self, db: object, spec: str | None = None, **match: str) -> list:
        """Key-value rows (no atoms decoded) of one spec, or of all specs."""
        if spec is not None:
            match["labeler"] = spec
        if not self._readable:
            return []
        with self._reading():
            return list(db.select(columns=["id", "key_value_pairs"], include_data=False, **match))

    # ---- queue --------------------------------------------------------------------------------
    def add(self, frames: Iterable[Atoms], spec: str, origin: str = "") -> list[str]:
        """Queue configurations for `spec` (one pending row each, none if already present); their hashes."""
        frames = list(frames)
        hashes = [config_hash(a) for a in frames]
        with self._write() as db:
            present = {row.config_hash for row in self._rows(db, spec)}
            for atoms, digest in zip(frames, hashes):
                if digest in present:
                    continue
                present.add(digest)
                kvp = dict(labeler=spec, config_hash=digest, slot=f"{spec}|{digest}", status="pending",
                           attempts=0, cost_s=0.0, error="none", owner="none", lease_until=0.0)
                if origin or atoms.info.get("source"):
                    kvp["origin"] = _text(origin or str(atoms.info["source"]))
                info = {k: int(atoms.info[k]) for k in CHARGE_KEYS if k in atoms.info}
                db.write(Atoms(numbers=atoms.numbers, positions=atoms.positions), key_value_pairs=kvp,
                         data={"info": info} if info else {})
        return hashes

    def claim(self, spec: str, n: int, owner: str, among: set[str] | None = None,
              lease_s: float = LEASE_S, declared_s: float = 0.0) -> list[Task]:
        """Atomically take up to `n` pending (or abandoned running) rows of `spec`, in row order;
        `declared_s` (the labeler's declared cost per label) is recorded on each row."""
        if n <= 0:
            return []
        now = time.time()
        tasks: list[Task] = []
        with self._write() as db:
            for row in self._claimable(db, spec, owner, among, now):
                # a row abandoned while running was interrupted (its run or worker killed): that try
                # was counted when it was claimed and is not counted again
                attempts = int(row.attempts) + (row.status != "running")
                db.update(row.id, status="running", owner=owner, lease_until=now + lease_s, attempts=attempts,
                          declared_s=float(declared_s))
                full = db.get(id=row.id)
                atoms = full.toatoms()
                atoms.info.update(full.data.get("info", {}))  # charge/spin travel with the configuration
                tasks.append(Task(row.id, row.config_hash, spec, atoms, attempts))
                if len(tasks) >= n:
                    break
        return tasks

    def _claimable(self, db: object, spec: str, owner: str, among: set[str] | None, now: float) -> Iterator:
        """Abandoned running rows of `spec` (lease expired or owner dead), then pending rows by id,
        read a page at a time so that a claim does not decode the whole queue."""
        for row in self._rows(db, spec, status="running"):
            if row.owner != owner and (row.lease_until <= now or not _owner_alive(row.owner)):
                if among is None or row.config_hash in among:
                    yield row
        offset, page = 0, 512
        while True:
            rows = list(db.select(columns=["id", "key_value_pairs"], include_data=False, sort="id",
                                  limit=page, offset=offset, labeler=spec, status="pending"))
            for row in rows:
                if among is None or row.config_hash in among:
                    yield row
            if len(rows) < page:
                return
            offset += page

    def renew(self, owner: str, lease_s: float = LEASE_S) -> None:
        """Extend the leases of every row `owner` is computing."""
        with self._write() as db:
            for row in self._rows(db, owner=owner, status="running"):
                db.update(row.id, lease_until=time.time() + lease_s)

    def release(self, owner: str) -> int:
        """Give back `owner`'s unfinished rows (running -> pending), e.g. when a run stops early."""
        with self._write() as db:
            rows = self._rows(db, owner=owner, status="running")
            for row in rows:
                db.update(row.id, status="pending", owner="none", lease_until=0.0,
                          attempts=max(int(row.attempts) - 1, 0))
        return len(rows)

    # ---- results ------------------------------------------------------------------------------
    def finish(self, results: Sequence[tuple[Task, Label, float]], owner: str) -> Commit:
        """Commit done labels `(task, label, declared cost s)` in one transaction. Only the claim that
        holds a row (running, owned by `owner`) writes it: a result whose claim went stale (its lease
        expired and another run claimed the row, or the row is done) is dropped and counted, its CPU
        time still charged to the row."""
        import acquire

        commit = Commit()
        with self._write() as db:
            for task, label, declared_s in results:
                row = db.get(id=task.row_id)
                if not _holds(row, owner):
                    db.update(task.row_id, cost_s=float(row.cost_s) + float(label.seconds))
                    commit.stale += 1
                    continue
                atoms = Atoms(numbers=task.atoms.numbers, positions=task.atoms.positions)
                atoms.calc = SinglePointCalculator(atoms, energy=label.energy, forces=label.forces)
                versions = _versions(label.meta, acquire.__version__)
                db.update(task.row_id, atoms=atoms, data={"meta": _jsonable(label.meta)}, status="done",
                          cost_s=float(row.cost_s) + float(label.seconds), declared_s=float(declared_s),
                          error="none", owner="none",
                          lease_until=0.0, versions=json.dumps(versions, sort_keys=True))
                commit.written += 1
        return commit

    def fail(self, task: Task, error: str, owner: str, cost_s: float, max_attempts: int,
             final: bool = False) -> RowOutcome:
        """Record a failed attempt; back to pending while attempts < max_attempts (and not `final`),
        else failed."""

        def changes(row: object) -> dict:
            return {"status": "pending" if int(row.attempts) < max_attempts and not final else "failed",
                    "error": _text(error)}

        return self._end_attempt(task, owner, cost_s, changes)

    def lost(self, task: Task, owner: str, cost_s: float, max_lost: int = MAX_LOST) -> RowOutcome:
        """An attempt that ended because its worker died (killed, out of memory): back to pending
        without counting it as an attempt; after `max_lost` such losses the row is failed (a label
        that kills every worker it runs on)."""

        def changes(row: object) -> dict:
            lost = int(row.get("lost", 0)) + 1
            if lost >= max_lost:
                return {"status": "failed", "lost": lost, "error": _text(f"its worker died {lost} times (killed or out of memory)")}
            return {"status": "pending", "lost": lost, "attempts": max(int(row.attempts) - 1, 0)}

        return self._end_attempt(task, owner, cost_s, changes)

    def _end_attempt(self, task: Task, owner: str, cost_s: float, changes_of: Callable[[object], dict]) -> RowOutcome:
        """End an attempt that made no label: the row gets `changes_of(row)` (its status among them)
        and the attempt's cost. A claim that no longer holds the row changes nothing but the row's
        cost ("stale"; "done" if done)."""
        with self._write() as db:
            row = db.get(id=task.row_id)
            if row.status == "done":
                return "done"
            if not _holds(row, owner):
                db.update(task.row_id, cost_s=float(row.cost_s) + float(cost_s))
                return "stale"
            changes = changes_of(row)
            db.update(task.row_id, cost_s=float(row.cost_s) + float(cost_s), owner="none", lease_until=0.0, **changes)
        return changes["status"]

    def retry_failed(self, spec: str, among: set[str] | None = None) -> int:
        """Failed rows of `spec` back to pending with their attempt count reset."""
        with self._write() as db:
            rows = [r for r in self._rows(db, spec, status="failed") if among is None or r.config_hash in among]
            for row in rows:
                db.update(row.id, status="pending", attempts=0)
        return len(rows)

    # ---- reading ------------------------------------------------------------------------------
    def specs(self) -> list[str]:
        """Labeler specs present in the store, sorted."""
        return sorted({row.labeler for row in self._rows(self._db) if "labeler" in row})

    def counts(self, spec: str | None = None) -> dict[str, Counts]:
        """Per spec: rows by status and CPU-core seconds spent."""
        result: dict[str, Counts] = {}
        for row in self._rows(self._db, spec):
            if "labeler" not in row:
                continue
            counts = result.setdefault(row.labeler, Counts())
            status = row.status if row.status in STATUSES else "pending"
            setattr(counts, status, getattr(counts, status) + 1)
            counts.cost_s += float(row.get("cost_s", 0.0))
            counts.declared_s += float(row.get("declared_s", 0.0))
        return result

    def spent_s(self, declared: bool = False) -> float:
        """CPU-core seconds spent on every row of every labeler (the budget ledger): measured, or
        with `declared` the declared cost of every attempt (`declared_s` of the row × attempts made)."""
        if not declared:
            return sum(c.cost_s for c in self.counts().values())
        return sum(float(r.get("declared_s", 0.0)) * max(int(r.get("attempts", 0)) - (r.get("status") == "running"), 0)
                   for r in self._rows(self._db))

    def statuses(self, spec: str) -> dict[str, str]:
        """config_hash -> status for every row of `spec`."""
        return {row.config_hash: row.status for row in self._rows(self._db, spec)}

    def done_atoms(self, spec: str) -> list[Atoms]:
        """Done labels of `spec` as Atoms with a SinglePointCalculator (eV, eV/Å), in row order."""
        if not self._readable:
            return []
        frames = []
        with self._reading():
            for row in sorted(self._db.select(labeler=spec, status="done"), key=lambda r: r.id):
                atoms = row.toatoms()
                atoms.info.update(config_hash=row.config_hash, labeler=spec)
                frames.append(atoms)
        return frames

    def arrays(self, spec: str) -> LabelArrays:
        """Done labels of `spec` as arrays for training (one molecule; raises StoreError otherwise)."""
        molecules = self.arrays_by_molecule(spec)
        if len(molecules) > 1:
            raise StoreError(f"{self.path}: labels of {spec} hold {len(molecules)} molecules; a training source "
                             "holds one (several molecules pretrain together through --extra-inaccurate)")
        return molecules[0]

    def arrays_by_molecule(self, spec: str) -> list[LabelArrays]:
        """Done labels of `spec` as arrays, one per molecule (atoms in the same order), in row order of
        each molecule's first label."""
        frames = self.done_atoms(spec) or self.done_atoms(_canonical(spec))
        if not frames:
            known = ", ".join(self.specs()) or "none"
            raise StoreError(f"{self.path} has no done labels for {spec!r}; labelers in it: {known}")
        groups: dict[tuple[int, ...], list[Atoms]] = {}
        for atoms in frames:
            groups.setdefault(tuple(int(z) for z in atoms.numbers), []).append(atoms)
        return [self._arrays(spec, group) for group in groups.values()]

    @staticmethod
    def _arrays(spec: str, frames: list[Atoms]) -> LabelArrays:
        numbers = frames[0].numbers
        return LabelArrays(
            spec=spec,
            positions=np.array([a.positions for a in frames]),
            numbers=numbers.copy(),
            energies=np.array([a.get_potential_energy() for a in frames]),
            forces=(np.array([a.get_forces() for a in frames])
                    if all("forces" in a.calc.results for a in frames) else None),
            config_hashes=[a.info["config_hash"] for a in frames],
        )


def _versions(meta: dict, acquire_version: str) -> dict[str, str]:
    """Package versions behind a label: the backend's (from its metadata) and ours."""
    from acquire.versions import versions as installed

    found = dict(meta.get("versions", {}))
    found.update({k: str(meta[k]) for k in ("pyscf", "tblite", "openmm", "rdkit") if k in meta})
    found.update(installed(("ase", "numpy")), acquire=acquire_version)
    return found


def _holds(row: object, owner: str) -> bool:
    """Whether `owner`'s claim still holds a row (nobody has reclaimed it since, and it is not done)."""
    return row.status == "running" and row.owner == owner


def _canonical(spec: str) -> str:
    """The canonical form of a spec as its backend writes it (`pyscf:CCSD(T)/cc-pVDZ` -> lower case), or `spec`."""
    from labelers import LabelerError, get_labeler

    try:
        return get_labeler(spec).spec
    except LabelerError:  # unknown or unavailable backend: the spec is only a name in the store
        return spec


def _text(value: str) -> str:
    """A one-line string ASE accepts as a text value (it refuses strings that parse as numbers)."""
    from ase.db.core import str_represents

    value = " ".join(str(value).split())[:500] or "none"
    if any(str_represents(value, t) for t in (bool, int, float)):
        value = f"'{value}'"
    return value


def _jsonable(meta: dict) -> dict:
    """Label metadata made JSON-safe (numpy scalars and arrays to Python values)."""
    return json.loads(json.dumps(meta, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def open_store(path: str | os.PathLike, create: bool = True) -> LabelStore:
    """The label store at `path` (created if absent and `create`)."""
    return LabelStore(path, create=create)
