"""Argument types: the one boundary where the numbers a user types are checked before any work starts.

Each function here is an argparse `type=`: it turns one command-line word (or a `--config` value,
which argparse converts the same way) into a value, or raises `argparse.ArgumentTypeError`, which
the parser prints as `acquire COMMAND: error: argument --X: ...` (exit code 2). Floats are finite
everywhere (NaN and inf are refused); counts have a ceiling so that a typo of many digits is refused
instead of running until killed.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

MAX_FRAMES = 1_000_000  # configurations one command samples, labels or trains on: far above any budget
MAX_STEPS = 100_000_000  # MD steps per run (1e8 × 0.5 fs = 50 ns)
MAX_RUNS = 10_000  # MD runs, seeds, repeats per setting
MAX_THREADS = 1024  # threads per process or worker
MAX_WORKERS = 4096  # worker processes or parallel jobs
MAX_ATTEMPTS = 100  # tries per label
MAX_SEED = 2**32 - 1  # NumPy's seed range


def integer(minimum: int = 0, maximum: int = MAX_FRAMES, what: str = "a whole number") -> Callable[[str], int]:
    """A whole number in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"expected {what} from {minimum} to {maximum}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def number(minimum: float | None = None, maximum: float | None = None, *, above: float | None = None,
           what: str = "a number") -> Callable[[str], float]:
    """A finite float with `minimum <= value <= maximum` and `value > above` (bounds optional)."""

    def parse(text: str) -> float:
        try:
            value = float(str(text).strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if above is not None and value <= above:
            raise argparse.ArgumentTypeError(f"expected {what} above {above:g}, got {value:g}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what} of at least {minimum:g}, got {value:g}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected {what} of at most {maximum:g}, got {value:g}")
        return value

    parse.__name__ = "number"
    return parse


# the option kinds every subcommand shares
frames = integer(0, MAX_FRAMES, "a number of frames")
positive_frames = integer(1, MAX_FRAMES, "a number of frames")
seed = integer(0, MAX_SEED, "a seed")
threads = integer(1, MAX_THREADS, "a number of threads")
workers = integer(1, MAX_WORKERS, "a number of workers")
jobs = integer(1, MAX_WORKERS, "a number of jobs")
attempts = integer(1, MAX_ATTEMPTS, "a number of attempts")
runs = integer(1, MAX_RUNS, "a count")
steps = integer(0, MAX_STEPS, "a number of steps")
positive_steps = integer(1, MAX_STEPS, "a number of steps")
width = integer(1, 4096, "a layer width")
layers = integer(1, 64, "a number of layers")
temperature = number(maximum=100_000.0, above=0.0, what="a temperature in K")
timestep = number(maximum=100.0, above=0.0, what="a time step in fs")
length = number(maximum=100.0, above=0.0, what="a length in Å")
friction = number(minimum=0.0, maximum=10.0, what="a friction in 1/fs")
seconds = number(maximum=7 * 86400.0, above=0.0, what="a time in seconds")
scale = number(maximum=1000.0, above=0.0, what="a scale factor")
cost_ratio = number(maximum=1e9, above=1.0, what="a cost ratio")
