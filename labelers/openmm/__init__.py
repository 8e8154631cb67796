"""The OpenMM backend: GAFF parametrisation (topology) and the labeler."""
