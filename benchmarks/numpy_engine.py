"""The from-scratch numpy engine against the PyTorch path: the course's SimpleConvNet trained one epoch on
the 7,000 MNIST training images with the same settings, seeds and batches, scored on the 2,000 held-out
test images (8,000–9,999); speed as the ratio of training images per second, measured in the same run.

Run: python -m benchmarks.numpy_engine [--epochs N] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from benchmarks.harness import mnist_dir
from playground.data.datasets import SPLIT_TEST, SPLIT_TRAIN, SPLIT_VAL, load_dataset
from playground.nn.numpy_trainer import NumpyTrainer
from playground.nn.presets import get_preset
from playground.nn.trainer import TrainConfig, Trainer, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch threads (numpy's BLAS uses all)"
    )
    args = parser.parse_args()
    folder = mnist_dir()
    if folder is None:
        raise SystemExit("MNIST files not found: set PLAYGROUND_DATA_DIR or put them in ../shared/data/mnist")
    train, val, test = (load_dataset("mnist", folder, split=s, seed=0) for s in (SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST))
    spec = get_preset("simple-convnet")
    rows = []
    for engine in ("numpy", "torch"):
        config = TrainConfig(
            optimizer="adam", lr=1e-3, batch_size=100, epochs=args.epochs, threads=args.threads, engine=engine
        )
        cls = NumpyTrainer if engine == "numpy" else Trainer
        t = time.perf_counter()
        trainer = cls(spec, config, train, val)
        result = trainer.run()
        wall = time.perf_counter() - t
        acc = evaluate(trainer.model_copy(), test).accuracy
        rows.append((engine, result.images_per_s, wall, result.val[-1][2], acc))
    print(
        f"CNN Playground, numpy engine vs PyTorch: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; simple-convnet, {len(train):,} images, "
        f"{args.epochs} epoch(s), Adam 1e-3, batch 100"
    )
    print(f"{'engine':8} {'images/s':>9} {'wall s':>7} {'val acc':>8} {'test acc':>9}")
    for engine, rate, wall, val_acc, acc in rows:
        print(f"{engine:8} {rate:9.0f} {wall:7.1f} {100 * val_acc:7.2f}% {100 * acc:8.2f}%")
    print(f"speed ratio numpy / PyTorch: {rows[0][1] / rows[1][1]:.3f}")


if __name__ == "__main__":
    main()
