"""What the engine commands (``train``, ``evaluate``, ``predict``) share: their error, the guard that turns
every user-facing error into one line on stderr and exit 2 (never a traceback), and reading a model file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from playground.cli.ops import _fail
from playground.errors import PlaygroundError

EXIT_INTERRUPTED = 130


class EngineCliError(PlaygroundError):
    """A command-line value or file that cannot be used; str(e) is one sentence for the user."""


def guard(command: Any, args: argparse.Namespace) -> int:
    """Run a command; the engine's user-facing errors become one stderr line and exit 2."""

    try:
        return command(args)
    except PlaygroundError as err:
        return _fail(err)
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return _fail(f"{err.strerror or err}{where}.")
    except KeyboardInterrupt:
        print("\nerror: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def load_model(path: str | Path) -> Any:
    from playground.nn.checkpoints import load_checkpoint

    p = Path(path)
    if not p.exists():
        raise EngineCliError(f"Model file not found: {path}.")
    if p.is_dir():
        raise EngineCliError(f"{path} is a folder, not a model file.")
    return load_checkpoint(p)
