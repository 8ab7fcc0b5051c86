"""Canvas-style robustness of the shipped MNIST model (issue 3; goal: ≥ 98 % accuracy).

Run: python -m benchmarks.canvas_robustness [--data-dir DIR] [--seed S] [--limit N] [--save-examples DIR]

Takes the held-out MNIST test digits (t10k images 8,000–9,999) and re-draws each the way people
draw on the 280×280 drawing canvas: the digit is cropped, upscaled so its height is 35–90 % of
the canvas (random per image), binarised (solid strokes) and then thinned or thickened with a
Pillow MinFilter/MaxFilter of size 3 or 5 (or left as is), its edges softened like an
antialiased pen, and placed off-centre at a random position that keeps it on the canvas, white
on black as an RGBA canvas (alpha 255). Each canvas goes through ``preprocess_digit`` +
``normalise`` and the shipped model ``assets/models/playground-mnist.safetensors``. Prints the
accuracy overall, by height band and by stroke, and the accuracy on the original 28×28 images.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from playground.data.datasets import load_dataset
from playground.imaging.preprocess import normalise, preprocess_digit
from playground.nn.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]

CANVAS = 280
PAD = 5  # px of margin around the upscaled digit
MODEL = ROOT / "assets" / "models" / "playground-mnist.safetensors"
HEIGHT_RANGE = (0.35, 0.90)  # digit height as a share of the canvas
BANDS = (("small", 0.35, 0.5333), ("medium", 0.5333, 0.7167), ("large", 0.7167, 0.9001))
STROKES = ("thin", "normal", "thick")  # MinFilter / none / MaxFilter


def default_data_dir() -> Path:
    env = os.environ.get("PLAYGROUND_DATA_DIR")
    return Path(env) if env else (ROOT / ".." / "shared" / "data" / "mnist").resolve()


def canvas_digit(img28: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, str, int]:
    """One MNIST digit -> (280×280×4 uint8 canvas, height share, stroke, filter size)."""
    ys, xs = np.nonzero(img28 > 30)
    crop = img28[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    frac = float(rng.uniform(*HEIGHT_RANGE))
    h = max(1, round(frac * CANVAS))
    w = max(1, min(CANVAS - 2 * PAD, round(crop.shape[1] * h / crop.shape[0])))
    big = Image.fromarray(crop).resize((w, h), Image.Resampling.BICUBIC)
    # Margin so thickening and softening are not clipped at the digit's bounding box.
    padded = Image.new("L", (w + 2 * PAD, h + 2 * PAD), 0)
    padded.paste(big, (PAD, PAD))
    big, w, h = padded, w + 2 * PAD, h + 2 * PAD
    # Binarise: a canvas pen draws solid strokes, not MNIST's grey antialiased ones.
    big = big.point(lambda v: 255 if v >= 128 else 0)
    stroke = STROKES[int(rng.integers(3))]
    size = int(rng.choice([3, 5]))
    if stroke == "thin":
        big = big.filter(ImageFilter.MinFilter(size))
    elif stroke == "thick":
        big = big.filter(ImageFilter.MaxFilter(size))
    else:
        size = 0
    # Soften: the canvas pen's antialiased edge.
    big = big.filter(ImageFilter.GaussianBlur(1.0))
    x = int(rng.integers(0, CANVAS - w + 1))
    y = int(rng.integers(0, CANVAS - h + 1))
    gray = np.zeros((CANVAS, CANVAS), np.uint8)
    gray[y : y + h, x : x + w] = np.asarray(big)
    rgba = np.empty((CANVAS, CANVAS, 4), np.uint8)
    rgba[..., :3] = gray[..., None]
    rgba[..., 3] = 255
    return rgba, frac, stroke, size


def band_of(frac: float) -> str:
    for name, lo, hi in BANDS:
        if lo <= frac < hi:
            return name
    return BANDS[-1][0]


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, batch: int = 500) -> np.ndarray:
    out = [model(torch.from_numpy(x[i : i + batch])).argmax(1).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data-dir", default=None, help="MNIST folder (default: $PLAYGROUND_DATA_DIR or ../shared/data/mnist)"
    )
    ap.add_argument("--seed", type=int, default=0, help="random seed for sizes, positions and strokes")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N test images")
    ap.add_argument("--save-examples", default=None, help="save the first few canvases as PNGs in this folder")
    args = ap.parse_args(argv)

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    data = load_dataset("mnist", data_dir, split="test", download_ok=False, subset=args.limit)
    model = load_checkpoint(MODEL).model.eval()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    rng = np.random.default_rng(args.seed)
    print(f"data: {data.source} ({len(data):,} images); model: {MODEL.relative_to(ROOT)}; seed {args.seed}")

    t0 = time.perf_counter()
    prepared, bands, strokes = [], [], []
    for i, img in enumerate(data.images):
        rgba, frac, stroke, size = canvas_digit(img, rng)
        if args.save_examples and i < 6:
            folder = Path(args.save_examples)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgba).save(folder / f"canvas_{i}_label{data.labels[i]}_{stroke}{size}_{frac:.2f}.png")
        prepared.append(preprocess_digit(rgba).image)
        bands.append(band_of(frac))
        strokes.append(stroke)
    t_prep = time.perf_counter() - t0

    labels = data.labels
    canvas_pred = predict(model, normalise(np.stack(prepared)))
    orig_pred = predict(model, normalise(data.images))
    ok = canvas_pred == labels
    bands_a, strokes_a = np.array(bands), np.array(strokes)

    def line(name: str, mask: np.ndarray) -> str:
        n = int(mask.sum())
        acc = 100 * ok[mask].mean() if n else float("nan")
        return f"  {name:<22} {acc:6.2f} %  ({int(ok[mask].sum()):,}/{n:,})"

    print(f"canvases drawn and preprocessed in {t_prep:.1f} s")
    print(f"original 28×28 images:   {100 * (orig_pred == labels).mean():6.2f} %")
    print("by digit height (share of canvas):")
    for name, lo, hi in BANDS:
        print(line(f"{name} ({lo:.0%}–{min(hi, 0.9):.0%})", bands_a == name))
    print("by stroke:")
    for s, what in zip(STROKES, ("MinFilter 3/5", "unchanged", "MaxFilter 3/5")):
        print(line(f"{s} ({what})", strokes_a == s))
    wrong = np.nonzero(~ok)[0]
    if len(wrong):
        shown = ", ".join(f"#{data.indices[j]} {labels[j]}→{canvas_pred[j]}" for j in wrong[:10])
        print(f"errors ({len(wrong)}): {shown}{' …' if len(wrong) > 10 else ''}")
    print(f"canvas-style accuracy: {100 * ok.mean():.2f} % (goal ≥ 98 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
