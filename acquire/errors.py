"""Typed errors of the acquire application (store, pools, engines, pipelines)."""


class AcquireError(Exception):
    """Base of the application's user-facing errors; the CLI prints one line, exit code 2."""


class StoreError(AcquireError):
    """The label store cannot be opened, written or read."""


class PoolError(AcquireError):
    """A configuration pool file is missing, unreadable or malformed."""
