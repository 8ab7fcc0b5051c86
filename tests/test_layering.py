"""DESIGN.md's layers, checked in a fresh interpreter: imports point one way only, and importing a module
does nothing but define things (no patched library, no thread, no process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = {"torch", "streamlit", "plotly"}

# package -> (the playground packages its modules may load, the libraries they must not load)
LAYERS = {
    "ops": ({"ops"}, PURE),
    "imaging": ({"ops", "imaging"}, PURE),
    "data": ({"ops", "imaging", "data"}, PURE),
    "figures": ({"ops", "figures"}, {"torch", "streamlit"}),
    "nn": ({"ops", "imaging", "data", "nn"}, {"streamlit", "plotly"}),
    "serve": ({"ops", "imaging", "data", "nn", "serve"}, {"streamlit", "plotly"}),
    "cli": ({"ops", "imaging", "data", "nn", "figures", "cli"}, {"streamlit"}),  # figures: the GIF export
}
# single modules that promise more than their package
LIGHT = {
    "playground.cli.main": PURE,  # `python -m playground conv` never loads torch
    "playground.serve.jobs": PURE,  # the queue knows nothing of what it runs
    "playground.serve.sockets": PURE,  # socket options: the standard library only
    "playground.serve.heap": PURE,  # the garbage collector: the standard library only
    "playground.serve.class_store": PURE,  # rooms and drawings: SQL, numpy and the standard library
    "playground.nn.shipped": PURE,  # the CLI's help names the shipped model without torch
    "playground.nn.architecture": PURE,  # designs as data: no torch until a model is built
    "playground.nn.shapes": PURE,
    "playground.nn.presets": PURE,
    "playground.address": PURE,  # the address codec is pure: the pages' fields live in ui/links.py
    "playground.quiz": PURE,  # predict first: the answers are checked without streamlit
}

PROBE = r"""
import importlib, json, multiprocessing, multiprocessing.spawn, os, pkgutil, sys, threading
names = sys.argv[1:]
watched = {"multiprocessing.spawn.get_preparation_data": multiprocessing.spawn.get_preparation_data,
           "json.loads": json.loads, "os.fork": os.fork}
threads = threading.active_count()
for name in list(names):
    module = importlib.import_module(name)
    if hasattr(module, "__path__") and len(names) == 1:
        names += [m.name for m in pkgutil.walk_packages(module.__path__, name + ".")]
        for sub in names[1:]:
            importlib.import_module(sub)
now = {"multiprocessing.spawn.get_preparation_data": multiprocessing.spawn.get_preparation_data,
       "json.loads": json.loads, "os.fork": os.fork}
children = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
print(json.dumps({"modules": sorted(sys.modules), "imported": names,
                  "patched": sorted(k for k in watched if watched[k] is not now[k]),
                  "threads": threading.active_count() - threads, "children": len(children)}))
"""


def probe(module: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_package_stays_in_its_layer_and_imports_without_side_effects(package):
    allowed, banned = LAYERS[package]
    seen = probe(f"playground.{package}")
    assert len(seen["imported"]) > 1 or package == "ops"
    loaded = {m.split(".")[0] for m in seen["modules"]}
    assert not loaded & banned, f"playground.{package} loads {sorted(loaded & banned)}"
    layers = {m.split(".")[1] for m in seen["modules"] if m.startswith("playground.") and m.count(".") >= 1}
    assert layers <= allowed | {"errors", "untrusted"}, f"playground.{package} reaches into {sorted(layers - allowed)}"
    assert seen["patched"] == [], f"importing playground.{package} replaced {seen['patched']}"
    assert seen["threads"] == 0 and seen["children"] == 0, "importing started a thread or a process"


@pytest.mark.parametrize("module", sorted(LIGHT))
def test_light_modules_load_no_heavy_library(module):
    loaded = {m.split(".")[0] for m in probe(module)["modules"]}
    assert not loaded & LIGHT[module], f"{module} loads {sorted(loaded & LIGHT[module])}"


def test_only_ui_and_pages_import_streamlit():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "playground").rglob("*.py")
        if p.parent.name not in ("ui", "pages") and "import streamlit" in p.read_text()
    ]
    assert offenders == []


def test_only_ui_state_touches_session_state():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "playground").rglob("*.py")
        if p.name != "state.py" and "st.session_state" in p.read_text()
    ]
    assert offenders == []
