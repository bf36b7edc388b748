"""Evaluation of a synthetic copy: integrity now; quality and privacy build on it."""
