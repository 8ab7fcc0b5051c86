"""The one base class of every error a user can cause (a bad setting, file, input or design).

``str(e)`` is one sentence saying what is wrong and how to fix it; ``field`` names the setting, input or
layer at fault when there is one ("lr", "kernel", "conv2"). The pages and the CLI catch this class alone:
anything else is a bug, logged and shown as one generic sentence, never a traceback.
"""

from __future__ import annotations


class PlaygroundError(ValueError):
    """An error a user can cause; ``field`` names what is at fault (None for the input as a whole)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
