"""Errors meant for the user of ``fx``: printed as one line, no traceback.

Here rather than beside the commands so that ``fx info``, ``fx api`` and the model
commands can catch them without importing Dagster (``fx run`` does).
"""

from __future__ import annotations


class CliError(RuntimeError):
    """A command cannot go on; the message says what to fix."""


class PipelineError(RuntimeError):
    """A run failed; the message is the failing step's own one-line error."""
