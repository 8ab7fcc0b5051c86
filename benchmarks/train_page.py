"""Speed of the Train page (goals: training through the page's worker path at >= 0.9 × a bare PyTorch loop;
one curve refresh <= 20 ms server side).

Run: python -m benchmarks.train_page [--preset keras-mnist] [--epochs 1] [--repeats 5] [--refreshes 200]
                                     [--no-poll] [--data-dir DIR]

1. Throughput. The page's path: ``ui.training.make_plan`` with the page's default settings, then
   ``TrainingSession.start`` (a ``ProcessTrainer`` on a ``jobs.JobQueue``: the training runs in a child
   process, as on the server), with a poller doing what the page's two fragments do while it trains (a
   snapshot every 0.5 s, a model copy + feature maps every 1 s; ``--no-poll`` leaves that out). The bare
   loop: hand-written PyTorch in this process with the same seeded initial weights, data tensors, batch
   size, optimizer, thread count, step count and the same validation passes (1,000 images at the same
   steps). Both timed on the wall clock from "go" to the last step (the page path includes starting its
   process), interleaved, in one run.
2. Curve refresh. What the progress fragment runs twice a second (``train_view._progress``: snapshot,
   curve figure, ``st.plotly_chart`` marshalling to JSON, captions), timed in bare mode (no browser; every
   element is still built and serialised), on the final snapshot of a run from part 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import threading
import time
from pathlib import Path

import numpy as np
import plotly.io as pio
import torch
import torch.nn.functional as F

from playground.figures.draw import kernels_figure
from playground.figures.training import curves_figure, maps_figure
from playground.nn.insight import feature_maps, first_layer_kernels
from playground.nn.model import build
from playground.nn.presets import PRESETS
from playground.nn.shapes import infer_shapes, summary_totals
from playground.nn.trainer import images_to_tensor
from playground.serve import jobs
from playground.serve.process_trainer import ProcessTrainer
from playground.ui import train_runs, train_view, training

ROOT = Path(__file__).resolve().parents[1]

GOALS = {"ratio": 0.9, "refresh_ms": 20.0}


def page_settings(n: int, epochs: int) -> dict:
    """The Train page's default settings (ui.training.settings_controls) for n images and `epochs`."""
    return dict(
        subset=n,
        optimizer="adam",
        lr=1e-3,
        batch_size=64,
        epochs=epochs,
        weight_decay=0.0,
        dropout=None,
        augment=False,
        lr_schedule="constant",
        seed=0,
        threads=1,
        val_every_steps=train_runs.validation_interval(n, 64, epochs),
    )


def thread_cpu(name: str) -> float:
    """CPU seconds used so far by the live thread called `name` (the queue's worker; 0 before it exists)."""
    thread = next((t for t in threading.enumerate() if t.name == name), None)
    return 0.0 if thread is None else time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def page_path(queue: jobs.JobQueue, plan: train_runs.Plan, poll: bool) -> tuple[float, float, train_runs.Run]:
    """(wall s, CPU s) from Start to the run's end through TrainingSession + the queue, polled like the page.
    CPU: this (polling) thread's only: the training itself runs in a child process."""
    sess = train_runs.TrainingSession(queue)
    probe = images_to_tensor(plan.data.val.images[:1])
    worker = f"{queue.name}-1"
    t0, c0, w0 = time.perf_counter(), time.thread_time(), thread_cpu(worker)
    run = sess.start(plan)
    next_visual = t0 + 1.0
    while not run.ticket.wait(0.5 if poll else None):
        run.snapshot()  # the progress fragment
        if time.perf_counter() >= next_visual:  # the visuals fragment
            feature_maps(run.visual_model(), probe)
            next_visual += 1.0
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0 + thread_cpu(worker) - w0
    sess.finalize()
    return wall, cpu, run


def bare_loop(plan: train_runs.Plan) -> tuple[float, float, int]:
    """The same training and validation passes, written by hand: (wall s, CPU s, steps)."""
    cfg, data = plan.config, plan.data
    t0, c0 = time.perf_counter(), time.thread_time()
    torch.set_num_threads(cfg.threads)
    seeds = np.random.SeedSequence(cfg.seed).generate_state(4)
    model = build(plan.spec, seed=int(seeds[0]))
    gen = torch.Generator().manual_seed(int(seeds[1]))
    x, y = images_to_tensor(data.train.images[: cfg.subset]), torch.as_tensor(data.train.labels[: cfg.subset])
    vx, vy = images_to_tensor(data.val.images), torch.as_tensor(data.val.labels)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    bs, n = cfg.batch_size, len(x)
    per_epoch, every, step = n // bs, cfg.val_every_steps, 0

    def validate() -> None:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(vx), 512):
                F.cross_entropy(model(vx[i : i + 512]), vy[i : i + 512], reduction="sum").item()
        model.train()

    model.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for b in range(per_epoch):
            idx = perm[b * bs : (b + 1) * bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if every and step % every == 0 and b + 1 < per_epoch:
                validate()
        validate()
    return time.perf_counter() - t0, time.thread_time() - c0, step


def refresh_times(run: train_runs.Run, count: int) -> list[float]:
    """ms per progress-fragment run (bare mode: elements built and serialised, nothing sent)."""
    from streamlit import config

    config.set_option("global.showWarningOnDirectExecution", False)  # no "run it with streamlit" notice
    for name in ("streamlit", "streamlit.runtime.scriptrunner_utils.script_run_context"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sess = train_runs.TrainingSession(jobs.JobQueue(1))
    times = []
    for _ in range(count):
        t = time.perf_counter()
        train_view._progress(sess, run, False)
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default=training.DEFAULT_PRESET, choices=sorted(PRESETS))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--refreshes", type=int, default=200)
    ap.add_argument("--no-poll", action="store_true", help="leave out the page's snapshot / model-copy polling")
    ap.add_argument(
        "--page-threads",
        type=int,
        default=1,
        help="torch threads of the polling (page) thread; the page uses 1 (try 2 to see why)",
    )
    ap.add_argument("--data-dir", help="folder with the MNIST files (default: $PLAYGROUND_DATA_DIR, ../shared/data)")
    args = ap.parse_args()

    torch.set_num_threads(args.page_threads)  # the page's script thread: train_runs.one_thread()
    root = args.data_dir or os.environ.get("PLAYGROUND_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    bundle = train_runs.load_bundle("mnist", root)
    spec = PRESETS[args.preset]
    plan = training.make_plan(spec, f"preset {args.preset}", page_settings(len(bundle.train), args.epochs), bundle)
    params, macs = summary_totals(infer_shapes(spec))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(
        f"model {spec.name}: {params:,} params, {macs / 1e6:.1f} M MACs/image; {bundle.train.source}; "
        f"batch 64, Adam, 1 thread, {args.epochs} epoch(s), validation every {plan.config.val_every_steps} steps "
        f"+ each epoch end; page polling {'off' if args.no_poll else 'on'}"
    )

    queue = jobs.JobQueue(1, name="bench")  # one for the whole run, like the server's: its worker thread is reused
    page_path(
        queue, training.make_plan(spec, "warm-up", {**page_settings(512, 1), "val_every_steps": None}, bundle), False
    )
    got: dict[str, dict[str, list[float]]] = {"wall": {"bare": [], "page": []}}
    last = None
    for r in range(args.repeats):
        for which in ("bare", "page") if r % 2 == 0 else ("page", "bare"):
            if which == "bare":
                wall, cpu, steps = bare_loop(plan)
            else:
                wall, cpu, last = page_path(queue, plan, not args.no_poll)
                assert last.final.state == "finished", last.final.message
                steps = last.final.step
            got["wall"][which].append(steps * 64 / wall)
        print(f"  run {r + 1}: wall img/s bare {got['wall']['bare'][-1]:6.0f} page {got['wall']['page'][-1]:6.0f}")
    for clock, runs in got.items():
        ratio = statistics.median(p / b for p, b in zip(runs["page"], runs["bare"]))
        print(
            f"{clock:>4} clock: median bare {statistics.median(runs['bare']):.0f} img/s, page path "
            f"{statistics.median(runs['page']):.0f} img/s; median per-run ratio {ratio:.3f} "
            f"(goal >= {GOALS['ratio']}) -> {'OK' if ratio >= GOALS['ratio'] else 'MISSED'}"
        )
    print(f"  (the engine's own training-only rate in the last run: {last.final.images_per_s:.0f} img/s)")

    snap = last.final
    times = refresh_times(last, args.refreshes)
    med, p95 = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
    fig_ms = []
    for _ in range(args.refreshes):
        t = time.perf_counter()
        curves_figure([train_view.series(last, snap)])
        fig_ms.append((time.perf_counter() - t) * 1000)
    print(
        f"curve refresh ({len(snap.train_loss)} loss points, {len(snap.val)} validation points): fragment "
        f"median {med:.1f} ms, p95 {p95:.1f} ms (goal <= {GOALS['refresh_ms']:.0f} ms) -> "
        f"{'OK' if med <= GOALS['refresh_ms'] else 'MISSED'}; of which building the figure "
        f"{statistics.median(fig_ms):.2f} ms"
    )
    trainer = ProcessTrainer(plan.spec, plan.config, bundle.train, bundle.val)  # what Run.visual_model copies
    trainer.start()
    while trainer.snapshot().step < 5:
        time.sleep(0.05)
    probe = images_to_tensor(bundle.val.images[:1])
    copy_ms, visual_ms = [], []
    for _ in range(20):
        t = time.perf_counter()
        model = trainer.model_copy()
        copy_ms.append((time.perf_counter() - t) * 1000)
        layers = feature_maps(model, probe)
        pio.to_json(kernels_figure(first_layer_kernels(model)), validate=False)
        pio.to_json(maps_figure(layers[0].maps, layers[0].name), validate=False)
        visual_ms.append((time.perf_counter() - t) * 1000)
    trainer.stop()
    trainer.join(10)
    print(
        f"visuals fragment (once a second while training): model_copy() from the training process, median {statistics.median(copy_ms):.1f} ms, "
        f"with feature maps, kernels and both figures serialised {statistics.median(visual_ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
