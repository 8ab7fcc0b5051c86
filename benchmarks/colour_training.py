"""How fast colour models train here, and what that means for CIFAR-10 (which cannot be downloaded on this
machine, so its accuracy is not measured; its time is projected from the measured speed).

Each colour preset trains for ``--steps`` optimizer steps (batch 64, Adam, augmentation, the threads given) on
the synthetic colour shapes, 3×32×32 like CIFAR-10, through the project's own Trainer; the grey keras-mnist
preset on synthetic digits runs in the same process as the baseline, so the ratios hold on a machine whose
speed drifts. Printed: images/s per preset, the ratio to the baseline, and the projected time of one epoch of
CIFAR-10's 45,000 training images and of the lecture notes' 5 epochs.

    python -m benchmarks.colour_training [--steps 120] [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

from playground.data.cifar import TRAIN_END
from playground.data.datasets import load_dataset
from playground.nn.presets import PRESETS
from playground.nn.shapes import infer_shapes, summary_totals
from playground.nn.trainer import TrainConfig, Trainer

COLOUR = ("keras-notes", "tinyvgg-rgb", "playground-colour")
BASELINE = "keras-mnist"


def images_per_s(preset: str, data, steps: int, threads: int) -> float:
    config = TrainConfig(
        optimizer="adam", lr=1e-3, batch_size=64, epochs=500, augment=True, max_steps=steps, threads=threads, seed=0
    )
    result = Trainer(PRESETS[preset], config, data).run()
    return result.images_per_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    colour = load_dataset("shapes", split="train")
    grey = load_dataset("synthetic", split="train")
    speeds: dict[str, list[float]] = {name: [] for name in (BASELINE, *COLOUR)}
    for _ in range(args.repeats):  # interleaved: drifting load hits every preset alike
        for name in speeds:
            speeds[name].append(images_per_s(name, grey if name == BASELINE else colour, args.steps, args.threads))
    base = statistics.median(speeds[BASELINE])
    report = {"machine": f"{os.cpu_count()} cores", "threads": args.threads, "steps": args.steps, "presets": {}}
    for name, values in speeds.items():
        rate = statistics.median(values)
        params, macs = summary_totals(infer_shapes(PRESETS[name]))
        entry = {
            "images_per_s": round(rate),
            "ratio_to_grey_baseline": round(rate / base, 3),
            "parameters": params,
            "macs_per_image": macs,
        }
        if name != BASELINE:
            entry["cifar10_epoch_s_projected"] = round(TRAIN_END / rate, 1)
            entry["cifar10_5_epochs_s_projected"] = round(5 * TRAIN_END / rate, 1)
        report["presets"][name] = entry
        print(f"{name:>18}: {rate:8,.0f} images/s  ({rate / base:.2f}× {BASELINE} on grey digits)", flush=True)
    print("CIFAR-10 accuracy: not measured (CIFAR-10 cannot be downloaded on this machine).")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
