"""The server's objects set aside from the garbage collector once (playground/serve/heap.py), in a fresh
interpreter so the test's own process is left as it was."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from playground.serve import heap
shared = [[i] for i in range(300_000)]  # what a server holds after its first page: long-lived objects
before = len(gc.get_objects())  # what a full collection walks
first, again = heap.freeze_once(), heap.freeze_once()
after = len(gc.get_objects())
print(json.dumps({"first": first, "again": again, "frozen": gc.get_freeze_count(), "before": before, "after": after}))
"""


def test_the_shared_objects_are_frozen_once_and_full_collections_skip_them():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    r = json.loads(out.stdout)
    assert r["first"] >= 300_000 and r["again"] == r["first"] == r["frozen"]  # the second call did nothing
    assert r["before"] - r["after"] >= 300_000  # a full collection no longer walks them
