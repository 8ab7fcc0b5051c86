"""Speed of the MNIST-style preprocessing (goal: < 2 ms median for a 280×280 canvas drawing).

Run: python -m benchmarks.preprocess_speed [--runs N]
Prints the median and 95th percentile time of ``preprocess_digit`` for the inputs the app sees:
the drawing canvas (280×280 RGBA uint8), a phone scan (1200×900 RGB, dark ink on light paper)
and a gray float array.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from PIL import Image, ImageDraw

from playground.imaging.preprocess import preprocess_digit

FIVE = [(210, 40), (90, 40), (80, 130), (160, 118), (205, 165), (190, 225), (120, 245), (70, 225)]


def canvas_drawing() -> np.ndarray:
    """A "5" drawn with an 18 px pen, white on black, as streamlit-drawable-canvas returns it."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line(FIVE, fill=(255, 255, 255, 255), width=18, joint="curve")
    return np.asarray(img)


def phone_scan() -> np.ndarray:
    """The same digit as dark ink on grey-white paper, 1200×900 RGB with noise."""
    rng = np.random.default_rng(0)
    ink = np.asarray(Image.fromarray(canvas_drawing()[..., 0]).resize((900, 900)), dtype=np.float64) / 255
    page = np.full((1200, 900), 0.9)
    page[150:1050] -= 0.7 * ink
    page += rng.normal(0, 0.02, page.shape)
    return (np.repeat(np.clip(page, 0, 1)[..., None], 3, axis=2) * 255).astype(np.uint8)


def measure(img: np.ndarray, runs: int) -> tuple[float, float]:
    for _ in range(10):
        preprocess_digit(img)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        preprocess_digit(img)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3, float(np.percentile(times, 95)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    canvas = canvas_drawing()
    cases = {
        "canvas 280×280 RGBA uint8": canvas,
        "gray 280×280 float64": canvas[..., 0] / 255.0,
        "scan 1200×900 RGB uint8": phone_scan(),
    }
    print(
        f"preprocess_digit, {args.runs} runs each — {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    for name, img in cases.items():
        median, p95 = measure(img, args.runs)
        print(f"  {name:28s} median {median:6.2f} ms   p95 {p95:6.2f} ms")
    median, _ = measure(canvas, args.runs)
    print(f"goal: canvas median < 2 ms -> {'met' if median < 2.0 else 'NOT met'} ({median:.2f} ms)")


if __name__ == "__main__":
    main()
