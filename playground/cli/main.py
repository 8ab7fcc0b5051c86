"""`python -m playground COMMAND`: the command-line interface (in the spirit of pytorch/examples mnist).

conv / pool / grad are numpy only (playground.cli.ops, playground.cli.grad). Commands that need torch must import it inside their
own command functions, so ``python -m playground conv`` never loads torch.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from playground.cli.engine import add_engine_commands
from playground.cli.grad import add_grad_commands
from playground.cli.ops import add_ops_commands


def build_parser() -> argparse.ArgumentParser:
    """The root parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m playground", description="CNN Playground from the command line.")

    def error(message: str) -> NoReturn:  # one line, exit 2, like the sub-commands
        print(f"error: {message} (see: python -m playground --help)", file=sys.stderr)
        raise SystemExit(2)

    parser.error = error  # type: ignore[method-assign]
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_ops_commands(commands)  # conv, pool
    add_grad_commands(commands)  # grad conv, grad pool
    add_engine_commands(commands)  # train, evaluate, predict: torch is imported inside each command
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    return args.func(args)
