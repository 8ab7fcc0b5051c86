"""Server-side time of one stroke on the Draw & Predict page (goal: median ≤ 15 ms on 2 cores).

The headline figure is measured as a browser experiences the server: ``streamlit run app.py`` on a free
loopback port and one websocket session (benchmarks/loadclient.py) that opens the page and sends strokes
one after another, each exactly as the canvas sends it (the whole 280×280 PNG in the widget's value, in
the fragment the canvas sits in). Each stroke's time runs from sending it to receiving the rerun's
``script_finished``: decoding and checking the PNG, preprocessing, inference, feature maps, saliency,
every figure and picture, and every message written to the socket. Bytes and messages per stroke are
what the client received. Each stroke adds a segment, so no result is reused.

``--baseline DIR`` measures another checkout (e.g. ``git worktree add /tmp/before <commit>``) the same
way in the same run, so the ratio holds on a machine whose speed drifts. The page script alone under
Streamlit's AppTest (no server, no socket), the engine part (``insight.analyse``) and the figures are
timed too.

    python -m benchmarks.draw_page [--strokes 40] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import time
from pathlib import Path

from benchmarks import harness, loadclient
from benchmarks.strokes import Scribbler

ROOT = Path(__file__).resolve().parents[1]
WARM = 3  # the first strokes warm caches and torch


def summary(values: list[float]) -> dict:
    s = sorted(values)
    return {"median_ms": round(statistics.median(s), 2), "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2)}


async def _strokes(url: str, strokes: int) -> dict:
    session = loadclient.Session(url, timeout_s=60)
    await session.connect()
    try:
        first = await session.rerun()
        if not first.ok:
            raise RuntimeError(f"the page did not open: {first.problem()}")
        await loadclient.open_canvas(session)
        scribbler, ms, sizes, counts = Scribbler(0), [], [], []
        for i in range(strokes + WARM):
            png, objects = scribbler.next()
            run = await session.draw(png, objects)
            if not run.ok:
                raise RuntimeError(f"stroke {i}: {run.problem()}")
            if i >= WARM:
                ms.append(run.latency_ms)
                sizes.append(run.received_bytes)
                counts.append(run.messages)
            await asyncio.sleep(0.05)  # a person lifts the mouse between strokes
        return {
            **summary(ms),
            "kb_per_stroke": round(statistics.median(sizes) / 1024, 1),
            "messages_per_stroke": int(statistics.median(counts)),
        }
    finally:
        await session.close()


def server_strokes(root: Path, strokes: int) -> dict:
    """One user's strokes against ``streamlit run`` of the checkout at ``root``."""
    proc, url = harness.start_server({"PYTHONPATH": str(root)}, root=root)
    try:
        return asyncio.run(_strokes(url, strokes))
    finally:
        harness.stop_server(proc)


def script_strokes(strokes: int) -> dict:
    """The page script alone under AppTest, plus its engine and figure parts (this checkout)."""
    from streamlit.testing.v1 import AppTest

    from playground.figures import draw as fig
    from playground.imaging import images
    from playground.nn import insight
    from playground.nn.checkpoints import load_checkpoint
    from playground.nn.shipped import SHIPPED_MODEL

    at = AppTest.from_file(str(ROOT / "playground" / "pages" / "draw.py"), default_timeout=60)
    at.run()
    scribbler, page_ms, pngs = Scribbler(0), [], []
    for i in range(strokes + WARM):
        png, objects = scribbler.next()
        pngs.append(png)
        at.session_state["draw.canvas.0"] = {
            "drawing": {"raw": {"objects": objects}, "data": "data:image/png;base64," + base64.b64encode(png).decode()}
        }
        t = time.perf_counter()
        at.run()
        if i >= WARM:
            page_ms.append((time.perf_counter() - t) * 1000)
        assert not at.exception, at.exception

    loaded = load_checkpoint(SHIPPED_MODEL)
    engine_ms, figure_ms = [], []
    for png in pngs[WARM:]:
        t = time.perf_counter()
        result = insight.analyse(loaded.model, loaded.spec, images.decode_canvas(png), background="dark")
        engine_ms.append((time.perf_counter() - t) * 1000)
        if result.prediction is None:
            continue
        t = time.perf_counter()
        fig.probability_figure(result.prediction.probabilities, result.prediction.label).to_json()
        fig.overview_figure([(m.name, m.shape, m.maps) for m in result.layers], (0, 0)).to_json()
        fig.large_map_figure(result.layers[0].maps[0], "map").to_json()
        fig.png_data_url(fig.saliency_overlay(result.prep.image, result.saliency))
        figure_ms.append((time.perf_counter() - t) * 1000)
    return {
        "page script under AppTest": summary(page_ms),
        "engine (preprocess + inference + maps + saliency)": summary(engine_ms),
        "figures a stroke changes (built and serialised)": summary(figure_ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strokes", type=int, default=40)
    ap.add_argument("--baseline", type=Path, help="another checkout to measure the same way, for a ratio")
    args = ap.parse_args()

    out: dict = {"machine": f"{os.cpu_count()} cores", "strokes": args.strokes}
    out["server, one stroke"] = server_strokes(ROOT, args.strokes)
    if args.baseline is not None:
        out["baseline server, one stroke"] = server_strokes(args.baseline.resolve(), args.strokes)
        out["ratio (median)"] = round(
            out["server, one stroke"]["median_ms"] / out["baseline server, one stroke"]["median_ms"], 3
        )
    out.update(script_strokes(args.strokes))
    for k, v in out.items():
        print(f"{k:>52}: {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
