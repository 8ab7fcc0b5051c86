"""Waiting for an event in tests: poll a condition until it holds, with a generous timeout.

Tests wait for what they need (a step count reached, a state changed, a report arrived), never for a
fixed time; the timeout is only there so that a broken run fails instead of hanging.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TIMEOUT_S = 60.0


def wait_until(predicate: Callable[[], object], timeout: float = TIMEOUT_S, what: str = "the condition") -> None:
    """Return as soon as `predicate()` is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.01)
