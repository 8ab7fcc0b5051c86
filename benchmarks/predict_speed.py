"""In-process cost of predicting one drawing: preprocessing + inference + every feature map (goal ≤ 20 ms median).

A 280×280 canvas-style drawing (white strokes on black, RGBA) goes through the same steps as
``python -m playground predict`` and the drawing page: preprocess_digit → normalise → the shipped model's
forward_all (all intermediate activations) → softmax.

Run: python -m benchmarks.predict_speed [--runs 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from playground.imaging.preprocess import normalise, preprocess_digit
from playground.nn.checkpoints import load_checkpoint
from playground.nn.model import forward_all

ROOT = Path(__file__).resolve().parents[1]

MODEL = ROOT / "assets" / "models" / "playground-mnist.safetensors"


def drawing() -> np.ndarray:
    """A '7' as a student draws it: thick white strokes, off-centre, on a black 280×280 canvas."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pen = ImageDraw.Draw(img)
    pen.line([(60, 50), (190, 50), (110, 230)], fill=(255, 255, 255, 255), width=18, joint="curve")
    return np.asarray(img)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_checkpoint(MODEL).model.eval()
    canvas = drawing()

    def once() -> tuple[int, int]:
        pre = preprocess_digit(canvas, background="dark")
        with torch.no_grad():
            acts = forward_all(model, torch.from_numpy(normalise(pre.image)))
            probs = torch.softmax(next(reversed(acts.values())), dim=1)[0]
        return int(probs.argmax()), len(acts)

    for _ in range(10):
        once()
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        label, layers = once()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"predicted {label}, {layers} layer outputs, {args.threads} thread(s), {args.runs} runs")
    print(
        f"predict one drawing: median {statistics.median(times):.2f} ms, p95 {times[int(0.95 * len(times))]:.2f} ms (goal ≤ 20 ms median)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
