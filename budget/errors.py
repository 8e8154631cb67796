"""Typed errors of the budget package."""


class BudgetError(ValueError):
    """A budget, ratio or plan request that cannot be honoured; the message says what to do."""
