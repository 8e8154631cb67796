"""Budget-matched comparisons: splits, the methods, the runner, the Delta-ML baseline, the report
and its plots."""
