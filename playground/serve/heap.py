"""Short garbage-collection pauses for the app server: the objects every session shares are set aside once.

Python's full collection walks every object the process holds. After the first page has run, the server
holds millions that live as long as it does (Streamlit, torch, Plotly, the shipped model), and a full
collection walked them all: 130–230 ms with the interpreter lock held, measured while a class drew, so
every student's stroke waited that long. ``gc.freeze`` moves the objects alive at that moment out of the
collector's reach for good; later collections walk only what the sessions made since (30–50 ms measured).
"""

from __future__ import annotations

import functools
import gc


@functools.cache
def freeze_once() -> int:
    """Collect, then freeze what is left, once per process (the router calls it after every run; the first
    does the work). Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
