"""The label store a command reads, named as every command names its input: positionally
(`acquire status run/labels.db`, as `acquire md MODEL` and `acquire export-model RUN`), with the
older `--store DB` still accepted. Where a command writes a store (`acquire label`), it stays --store."""
from __future__ import annotations

import argparse


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", nargs="?", default=None, metavar="STORE", help="label store (.db)")
    parser.add_argument("--store", dest="store_option", default=None, metavar="DB", help="the same, as an option (older spelling)")


def store_of(args: argparse.Namespace) -> str:
    """The store given either way; AcquireError if none, or two different ones."""
    from acquire.errors import AcquireError

    given = {s for s in (args.store, args.store_option) if s is not None}
    if len(given) != 1:
        raise AcquireError("name one label store: STORE (or --store DB)" if not given else
                           f"two label stores given ({', '.join(sorted(given))}); name one")
    return given.pop()
