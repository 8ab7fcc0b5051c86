"""``python -m playground``: the command-line interface."""

import sys

from playground.cli import main

sys.exit(main())
