"""Acquire: the application. Owns the `acquire` command line (one module per subcommand in
`acquire.cli`), molecules and configuration pools, sampling of new configurations, the label store
(an ASE SQLite database, one row per configuration and labeler), the labeling engine (local process
pool or Dask) with its budget ledger, training-data sources, budget-matched comparisons and their
reports and plots, and MD stability studies. It is the only package that imports `budget`,
`labelers` and `train`; library functions here are what the CLI modules and the tests call.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("asteroid-ff")  # the distribution this package ships in (pyproject.toml)
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
