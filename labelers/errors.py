"""Typed errors of the labelers package. Every one carries a message a user understands."""


class LabelerError(Exception):
    """Base of every labeler error; the CLI turns it into one line and exit code 2."""


class SpecError(LabelerError, ValueError):
    """A labeler spec string that no backend understands."""


class MissingDependencyError(LabelerError, ImportError):
    """An optional dependency of a backend is not installed (the message names the extra)."""


class LabelFailedError(LabelerError, RuntimeError):
    """A label could not be computed (SCF not converged, NaN, no cached match, ...)."""


class ConvergenceError(LabelFailedError):
    """An iterative solver (SCF, CC amplitudes) did not converge."""


class NonFiniteLabelError(LabelFailedError):
    """A computed energy or force is NaN or infinite."""


class LabelShapeError(LabelFailedError, ValueError):
    """A backend returned forces that are not one (x, y, z) row per atom."""


class NotInCacheError(LabelFailedError):
    """A cached labeler has no label for this geometry."""


class ResourceError(LabelFailedError):
    """A label would not fit the machine (memory) and was refused up front."""
