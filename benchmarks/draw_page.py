"""Server-side time of one stroke on the Draw & Predict page (goal: median ≤ 60 ms on 2 cores).

A stroke is fed to the page exactly as the canvas sends it (a 280×280 PNG data URL in the canvas's
widget value) and the whole script runs under Streamlit's AppTest: decoding and checking the PNG,
preprocessing, inference, feature maps, saliency, every figure and image, and the elements turned
into the protobuf messages the browser would receive. Each stroke adds a segment, so no result is
reused. The engine part alone (``insight.analyse``) and the figures alone are timed too.

    python -m benchmarks.draw_page [--strokes 40]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from benchmarks.strokes import Scribbler
from playground.figures import draw as fig
from playground.imaging import images
from playground.nn import insight
from playground.nn.checkpoints import load_checkpoint
from playground.nn.shipped import SHIPPED_MODEL

ROOT = Path(__file__).resolve().parents[1]


def summary(ms: list[float]) -> dict:
    s = sorted(ms)
    return {"median_ms": round(statistics.median(s), 2), "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strokes", type=int, default=40)
    args = ap.parse_args()

    at = AppTest.from_file(str(ROOT / "playground" / "pages" / "draw.py"), default_timeout=60)
    at.run()
    scribbler, page_ms, strokes = Scribbler(0), [], []
    for i in range(args.strokes + 3):
        png, objects = scribbler.next()
        strokes.append(png)
        at.session_state["draw.canvas.0"] = {
            "drawing": {"raw": {"objects": objects}, "data": "data:image/png;base64," + base64.b64encode(png).decode()}
        }
        t = time.perf_counter()
        at.run()
        if i >= 3:  # the first runs warm caches and torch
            page_ms.append((time.perf_counter() - t) * 1000)
        assert not at.exception, at.exception

    loaded = load_checkpoint(SHIPPED_MODEL)
    engine_ms, figure_ms = [], []
    for png in strokes[3:]:
        t = time.perf_counter()
        result = insight.analyse(loaded.model, loaded.spec, images.decode_canvas(png), background="dark")
        engine_ms.append((time.perf_counter() - t) * 1000)
        if result.prediction is None:
            continue
        t = time.perf_counter()
        fig.probability_figure(result.prediction.probabilities, result.prediction.label).to_json()
        fig.overview_figure([(m.name, m.shape, m.maps) for m in result.layers], (0, 0)).to_json()
        fig.large_map_figure(result.layers[0].maps[0], "map").to_json()
        fig.kernels_figure(insight.first_layer_kernels(loaded.model)).to_json()
        fig.saliency_overlay(result.prep.image, result.saliency)
        figure_ms.append((time.perf_counter() - t) * 1000)

    out = {
        "machine": f"{os.cpu_count()} cores",
        "strokes": len(page_ms),
        "page": summary(page_ms),
        "engine (preprocess + inference + maps + saliency)": summary(engine_ms),
        "figures (built and serialised)": summary(figure_ms),
    }
    for k, v in out.items():
        print(f"{k:>52}: {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
