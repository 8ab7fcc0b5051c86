"""DESIGN.md's layering, checked in a fresh interpreter: imports point one way only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# module -> packages it must not pull in
RULES = {
    "playground.ops": ("streamlit", "torch", "plotly"),
    "playground.kernels": ("streamlit", "torch", "plotly"),
    "playground.images": ("streamlit", "torch", "plotly"),
    "playground.samples": ("streamlit", "torch", "plotly"),
    "playground.preprocess": ("streamlit", "torch", "plotly"),
    "playground.data": ("streamlit", "torch", "plotly"),
    "playground.idx": ("streamlit", "torch", "plotly"),
    "playground.download": ("streamlit", "torch", "plotly"),
    "playground.synthetic": ("streamlit", "torch", "plotly"),
    "playground.train_setup": ("streamlit", "plotly"),
    "playground.figures": ("streamlit", "torch"),
    "playground.figures.draw": ("streamlit", "torch"),
    "playground.model": ("streamlit", "plotly"),
    "playground.train": ("streamlit", "plotly"),
    "playground.checkpoints": ("streamlit", "plotly"),
    "playground.insight": ("streamlit", "plotly"),
    "playground.cli": ("streamlit", "torch", "plotly"),
    "playground.jobs": ("streamlit", "torch", "plotly"),
    "playground.remote": ("streamlit", "plotly"),
    "playground.forkserver_warm": ("streamlit", "plotly"),
    "playground.figures.training": ("streamlit", "torch"),
}


@pytest.mark.parametrize("module", sorted(RULES))
def test_module_stays_in_its_layer(module):
    code = (
        "import importlib, json, sys; importlib.import_module(%r); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))" % module
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(RULES[module]), f"{module} imports {sorted(loaded & set(RULES[module]))}"
