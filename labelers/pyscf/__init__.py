"""The PySCF backend: spec grammar, resources and declared costs, SCF convergence, the labeler."""
