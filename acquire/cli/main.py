"""The `acquire` command line: one module per subcommand in `acquire.cli`, imported lazily.

Each subcommand module defines `HELP` (one line), `EXAMPLES` (text), `add_arguments(parser)` and
`run(args) -> int`. Modules import heavy libraries (torch, pyscf, openmm) inside `run` only, so
that `acquire plan` answers instantly. User mistakes (typed errors of the four packages, missing
files) become one line on stderr and exit code 2. Every subcommand takes `--json` (exactly one JSON
document on stdout) and `--quiet` (`acquire.cli.output`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

# subcommand -> module under acquire.cli (order = order in --help)
SUBCOMMANDS: dict[str, str] = {
    "plan": "plan",
    "labelers": "labelers_cmd",
    "calibrate": "calibrate",
    "sample": "sample",
    "label": "label",
    "status": "status",
    "export": "export",
    "export-model": "export_model",
    "train": "train_cmd",
    "compare": "compare",
    "summarize": "summarize",
    "md": "md",
    "scan": "scan",
    "run": "run_cmd",
    "demo": "demo",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: one line naming the command, exit 2
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def _available() -> dict[str, ModuleType]:
    """Every subcommand's module; a missing one is a broken install and fails loudly, never a
    command silently gone from --help."""
    return {name: importlib.import_module(f"acquire.cli.{module}") for name, module in SUBCOMMANDS.items()}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="acquire",
        description="Plan a labeling budget, buy accurate and inaccurate labels, and train "
        "CCSD(T)-accurate force fields with ASTEROID.",
        epilog="Start with: acquire plan --budget 250ccsd --ratio 40",
    )
    from acquire import __version__

    parser.add_argument("--version", action="version", version=f"acquire (asteroid-ff) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parser.set_defaults(_commands={})
    for name, module in _available().items():
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=module.HELP,
            epilog=getattr(module, "EXAMPLES", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
        parser.get_default("_commands")[name] = sub
    return parser


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exception types that mean a user mistake or an expected failure, not a bug."""
    from pydantic import ValidationError

    from acquire.errors import AcquireError
    from budget.errors import BudgetError
    from labelers.errors import LabelerError

    types: list[type[BaseException]] = [
        AcquireError, BudgetError, LabelerError, ValidationError, FileNotFoundError, PermissionError,
        IsADirectoryError, NotADirectoryError,
    ]
    train_errors = sys.modules.get("train.errors")  # only raised if train was imported
    if train_errors is not None:
        types.append(train_errors.TrainError)
    return tuple(types)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler's time limit, `kill`): handled as Ctrl-C is, so what is stored
    stays stored and labels already computed are kept."""


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` in the main thread while a command runs (where nobody else set a handler)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        raise Terminated()

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _command(argv: list[str]) -> str:
    """The subcommand word of `argv` (its first word that is not an option), or ''."""
    return next((word for word in argv if not word.startswith("-")), "")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """`argv` parsed as the command line parses it: a `--config` file's values become the options'
    defaults, and options given on the command line win."""
    from acquire.cli.config_file import apply_config, config_path

    parser = build_parser()
    command = _command(argv)
    commands = parser.get_default("_commands")
    if command in commands and (path := config_path(argv)) is not None:
        apply_config(commands[command], path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command(argv)
    from acquire.threads import requested_threads, thread_limit

    try:
        with thread_limit(requested_threads(None)):  # before numpy and the rest load: the user's OMP_NUM_THREADS or 1
            try:
                args = parse_args(argv)
            except SystemExit as exit:  # argparse's errors (its one line printed), --help, --version
                return exit.code if isinstance(exit.code, int) else 2
            if getattr(args, "_run", None) is None:
                build_parser().print_help()
                return 2
            with _sigterm_as_interrupt(), thread_limit(requested_threads(getattr(args, "threads", None))):
                return int(args._run(args) or 0)
    except KeyboardInterrupt as exc:
        why = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"acquire: {why}; everything already stored is kept", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except BrokenPipeError:  # the reader of stdout went away (`| head`): what was computed is stored
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit flush cannot fail again
        return 141
    except user_error_types() as exc:
        print(f"acquire {command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """A user error's message on one line."""
    if hasattr(exc, "errors") and hasattr(exc, "title"):  # pydantic: settings of the wrong type
        from train.errors import describe

        return f"invalid {exc.title} settings: {describe(exc)}"
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
        message = f"{message}: {exc.filename}"
    return message

if __name__ == "__main__":
    sys.exit(main())
