"""Training throughput of the engine (playground.nn.trainer.Trainer) against a bare hand-written PyTorch loop.

Both train the same model (same preset, same seeded initial weights), on the same data tensors, with
the same batch size, optimizer and thread count, in one process. Runs are interleaved (bare, engine,
engine, bare, ...) so drifting machine load hits both alike; the script prints per-run images/s, the
medians and the ratio engine / bare. Goal (issue 3): ratio >= 0.95. Two clocks: wall time (what a user
waits) and this process's CPU time (what the loop costs; steadier when other programs share the cores).

    python -m benchmarks.train_throughput [--preset playground] [--batch-size 64] [--threads 1]
                                          [--steps 60] [--repeats 15] [--augment]
                                          [--data-dir DIR]

Data: MNIST images 0-7,999 via playground.data.datasets from --data-dir, $PLAYGROUND_DATA_DIR or
../shared/data/mnist; random tensors of the same shape when no MNIST files are found (said in the output).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from playground.data.datasets import DataError, load_dataset
from playground.nn.model import build
from playground.nn.presets import PRESETS
from playground.nn.shapes import infer_shapes, summary_totals
from playground.nn.trainer import TrainConfig, Trainer, augment_batch, images_to_tensor

ROOT = Path(__file__).resolve().parents[1]


class _Random:
    """Stand-in data set of random images when MNIST is not available."""

    def __init__(self, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.name, self.source, self.synthetic, self.classes = "random", "random tensors", True, tuple("0123456789")
        self.images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        self.labels = rng.integers(0, 10, n).astype(np.int64)
        self.indices = np.arange(n)


def load_data(data_dir: str | None):
    for folder in (data_dir, os.environ.get("PLAYGROUND_DATA_DIR"), ROOT.parent / "shared" / "data" / "mnist"):
        if folder:
            try:
                return load_dataset("mnist", folder, split="trainval", download_ok=False)
            except DataError:
                continue
    return _Random(8000)


def bare_loop(
    spec, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, steps: int, model_seed: int
) -> tuple[float, float]:
    """The hand-written loop: (wall s, CPU s) for `steps` optimizer steps (optimizer creation excluded)."""
    torch.set_num_threads(cfg.threads)
    model = build(spec, seed=model_seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen, aug_gen = torch.Generator().manual_seed(cfg.seed), torch.Generator().manual_seed(cfg.seed + 1)
    bs, n = cfg.batch_size, len(x)
    per_epoch = n // bs
    t0, c0 = time.perf_counter(), time.process_time()
    done = 0
    while done < steps:
        perm = torch.randperm(n, generator=gen)
        for b in range(per_epoch):
            if done >= steps:
                break
            idx = perm[b * bs : (b + 1) * bs]
            xb = augment_batch(x[idx], aug_gen) if cfg.augment else x[idx]
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
    return time.perf_counter() - t0, time.process_time() - c0


def engine(spec, data, cfg: TrainConfig) -> tuple[float, float, int]:
    """The engine: (wall s, CPU s, steps) of Trainer.run() (tensors prepared beforehand, as in the bare loop)."""
    trainer = Trainer(spec, cfg, data)
    t0, c0 = time.perf_counter(), time.process_time()
    result = trainer.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if result.state != "finished":
        raise SystemExit(f"engine run ended {result.state}: {result.message}")
    return wall, cpu, result.steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="playground", choices=sorted(PRESETS))
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--augment", action="store_true", help="random shift/rotation in both loops")
    ap.add_argument("--data-dir")
    args = ap.parse_args()

    spec = PRESETS[args.preset]
    data = load_data(args.data_dir)
    cfg = TrainConfig(
        optimizer="adam",
        lr=1e-3,
        batch_size=args.batch_size,
        epochs=500,
        threads=args.threads,
        max_steps=args.steps,
        augment=args.augment,
    )
    x = images_to_tensor(data.images)
    y = torch.as_tensor(data.labels, dtype=torch.int64)
    model_seed = int(np.random.SeedSequence(cfg.seed).generate_state(1)[0])
    params, macs = summary_totals(infer_shapes(spec))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(
        f"model {spec.name}: {params:,} params, {macs / 1e6:.1f} M MACs/image; data: {data.source} ({len(x):,}); "
        f"batch {args.batch_size}, threads {args.threads}, augment {args.augment}, {args.steps} steps per run, "
        f"{args.repeats} repeats"
    )

    engine(spec, data, TrainConfig(**{**cfg.to_dict(), "max_steps": 10}))  # warm-up (torch's first optimizer)
    bare_loop(spec, x, y, cfg, 10, model_seed)
    runs: dict[str, dict[str, list[float]]] = {c: {"bare": [], "engine": []} for c in ("wall", "cpu")}
    for r in range(args.repeats):
        for which in ("bare", "engine") if r % 2 == 0 else ("engine", "bare"):
            if which == "bare":
                wall, cpu = bare_loop(spec, x, y, cfg, args.steps, model_seed)
                steps = args.steps
            else:
                wall, cpu, steps = engine(spec, data, cfg)
            runs["wall"][which].append(steps * args.batch_size / wall)
            runs["cpu"][which].append(steps * args.batch_size / cpu)
        print(
            f"  run {r + 1:2d}: wall img/s bare {runs['wall']['bare'][-1]:6.0f} engine {runs['wall']['engine'][-1]:6.0f}"
            f" | CPU img/s bare {runs['cpu']['bare'][-1]:6.0f} engine {runs['cpu']['engine'][-1]:6.0f}"
        )
    for clock, got in runs.items():
        bm, em = statistics.median(got["bare"]), statistics.median(got["engine"])
        per_run = statistics.median(e / b for e, b in zip(got["engine"], got["bare"]))
        print(
            f"{clock:>4} clock: median bare {bm:.0f} img/s, engine {em:.0f} img/s; ratio of medians {em / bm:.3f}, "
            f"median per-run ratio {per_run:.3f} (goal >= 0.95)"
        )


if __name__ == "__main__":
    main()
