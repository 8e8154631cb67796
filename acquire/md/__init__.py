"""MD stability studies: runs with models or labelers as calculators, stored results, the report."""
