"""Labeling: the label store, the coordinator that fills it, where labels are computed (executors),
configuration pools and sampling."""
