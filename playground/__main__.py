"""``python -m playground``: the command-line interface."""

import os
import sys

from playground.cli.main import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader (``| head``) closed the pipe: that is the reader's choice, not an error to report.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 0
sys.exit(code)
